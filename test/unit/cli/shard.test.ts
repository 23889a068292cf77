// Why: every shard of a fleet build must take a disjoint share of the node list, and together all
// of it; a bad spec or a half-given Indexed Job setting must stop the build, never build everything.
import { describe, expect, it } from 'vitest';
import { inShard, parseShardSpec, shardFrom } from '../../../src/cli/shard.js';
import { UserError } from '../../../src/errors.js';

describe('--shard I/N', () => {
  it('parses I/N', () => {
    expect(parseShardSpec('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShardSpec('2/3')).toEqual({ index: 2, count: 3 });
  });

  it.each([
    ['3/3', /index must be 0 to 2/],
    ['a/b', /index must be a whole number, not "a"/],
    ['1/0', /count must be 1 to 1000, not 0/],
    ['1', /must be I\/N/],
    ['-1/3', /whole number/],
    ['1/2/3', /must be I\/N/],
    ['0/1001', /1 to 1000/],
  ])('refuses %s in one line', (spec, msg) => {
    let err: unknown;
    try {
      parseShardSpec(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(msg);
    expect((err as UserError).message).not.toContain('\n');
    expect((err as UserError).exitCode).toBe(2);
  });

  it('shards are disjoint and together cover every node, in list order', () => {
    const nodes = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
    const shards = [0, 1, 2].map((index) => inShard(nodes, { index, count: 3 }));
    expect(shards).toEqual([
      ['n0', 'n3', 'n6'],
      ['n1', 'n4'],
      ['n2', 'n5'],
    ]);
    expect(inShard(nodes, undefined)).toEqual(nodes);
    expect(inShard(['a'], { index: 3, count: 4 })).toEqual([]);
  });
});

describe('shard from flags and JOB_COMPLETION_INDEX', () => {
  it('no shard when nothing is set', () => {
    expect(shardFrom({}, {})).toBeUndefined();
    expect(shardFrom({}, { JOB_COMPLETION_INDEX: '' })).toBeUndefined();
  });

  it('--shard wins and ignores the environment', () => {
    expect(shardFrom({ shard: '1/2' }, { JOB_COMPLETION_INDEX: '5', MAKE_ISO_SHARD_COUNT: '9' })).toEqual({
      index: 1,
      count: 2,
    });
  });

  it('JOB_COMPLETION_INDEX with --shard-count or MAKE_ISO_SHARD_COUNT (the flag first)', () => {
    expect(shardFrom({ shardCount: '4' }, { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(shardFrom({}, { JOB_COMPLETION_INDEX: '0', MAKE_ISO_SHARD_COUNT: '2' })).toEqual({ index: 0, count: 2 });
    expect(shardFrom({ shardCount: '5' }, { JOB_COMPLETION_INDEX: '4', MAKE_ISO_SHARD_COUNT: '2' })).toEqual({
      index: 4,
      count: 5,
    });
  });

  it.each([
    [{}, { JOB_COMPLETION_INDEX: '1' }, /JOB_COMPLETION_INDEX=1 is set but not the shard count/],
    [{ shardCount: '3' }, {}, /--shard-count is set but there is no shard index/],
    [{}, { MAKE_ISO_SHARD_COUNT: '3' }, /MAKE_ISO_SHARD_COUNT is set but there is no shard index/],
    [{ shardCount: '3' }, { JOB_COMPLETION_INDEX: '3' }, /index must be 0 to 2/],
    [{ shardCount: 'x' }, { JOB_COMPLETION_INDEX: '0' }, /--shard-count must be a whole number/],
    [{}, { JOB_COMPLETION_INDEX: 'one', MAKE_ISO_SHARD_COUNT: '3' }, /JOB_COMPLETION_INDEX must be a whole number/],
    [{ shard: '0/2', shardCount: '2' }, {}, /--shard I\/N already names the count/],
  ] as const)('refuses %j with env %j', (flags, env, msg) => {
    expect(() => shardFrom(flags, env)).toThrow(UserError);
    expect(() => shardFrom(flags, env)).toThrow(msg);
  });
});
