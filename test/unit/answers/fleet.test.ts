// Why: `nodes:` (one medium for many machines) must refuse, at build time, every entry list the
// installer could not decide on: bad merged answers, two entries one machine could satisfy, two
// defaults. The glob-intersection check is the heart of that, so it is tested on its own too.
import { describe, expect, it } from 'vitest';
import { couldOverlap, globsIntersect, listNodes, mergeNode, nodeCriteria } from '../../../src/answers/fleet.js';
import { parseAnswers } from '../../../src/answers/load.js';
import type { FleetNode } from '../../../src/answers/schema.js';
import { ED25519, minimal } from './helpers.js';

async function errorsOf(nodes: unknown[], base: Record<string, unknown> = minimal()): Promise<string[]> {
  const r = await parseAnswers(JSON.stringify({ ...base, nodes }), '/nonexistent', { checkFiles: false });
  return r.errors;
}

describe('globsIntersect', () => {
  it.each([
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['a*', '*c', true],
    ['a*', 'b*', false],
    ['*a', '*b', false],
    ['a?c', 'abc', true],
    ['a?c', 'ab', false],
    ['52:54:00:*', '52:54:01:*', false],
    ['52:54:00:*', '52:54:0?:12:*', true],
    ['S1*', 'S10', true],
    ['S1?', 'S1', false],
    ['*', '', true],
    ['a*b*c', '*x*', true],
    ['a*b', 'a*c', false],
    ['??', '???', false],
    ['*?*', '', false],
  ])('%s and %s: %s', (a, b, want) => {
    expect(globsIntersect(a, b)).toBe(want);
    expect(globsIntersect(b, a)).toBe(want);
  });
});

const node = (name: string, match: Record<string, string>): FleetNode => ({ name, match });

describe('couldOverlap', () => {
  it('same kind with disjoint globs: apart; different kinds: together', () => {
    expect(couldOverlap(node('a', { mac: '52:54:00:00:00:01' }), node('b', { mac: '52:54:00:00:00:02' }))).toBe(false);
    expect(couldOverlap(node('a', { mac: '52:54:00:00:00:*' }), node('b', { mac: '52:54:00:00:00:02' }))).toBe(true);
    expect(couldOverlap(node('a', { mac: '52:54:00:00:00:01' }), node('b', { smbiosSerial: 'S2' }))).toBe(true);
    // one shared kind that cannot match the same value is enough
    expect(
      couldOverlap(node('a', { mac: '52:*', smbiosSerial: 'S1' }), node('b', { mac: '52:*', smbiosSerial: 'S2' })),
    ).toBe(false);
  });

  it('MAC and UUID globs compare case-insensitively, serials do not', () => {
    expect(nodeCriteria(node('a', { mac: 'AA:BB:*', smbiosSerial: 'Ab' }))).toEqual([
      ['mac', 'aa:bb:*'],
      ['smbiosSerial', 'Ab'],
    ]);
    expect(couldOverlap(node('a', { mac: 'AA:*' }), node('b', { mac: 'aa:01' }))).toBe(true);
    expect(couldOverlap(node('a', { smbiosSerial: 'AB' }), node('b', { smbiosSerial: 'ab' }))).toBe(false);
  });
});

describe('mergeNode', () => {
  it('merges network and disk key by key, replaces hostname and ssh keys, drops nodes', () => {
    const base = {
      ...minimal(),
      network: { mode: 'static', address: '10.0.0.1', prefix: 24, gateway: '10.0.0.254' },
      disk: { byId: ['nvme-*'], minGiB: 20 },
      nodes: [],
    };
    const m = mergeNode(base, {
      name: 'n1',
      hostname: 'n1',
      network: { address: '10.0.0.2' },
      disk: { minGiB: 40 },
      user: { sshKeys: [ED25519] },
    });
    expect(m.nodes).toBeUndefined();
    expect(m.hostname).toBe('n1');
    expect(m.network).toEqual({ mode: 'static', address: '10.0.0.2', prefix: 24, gateway: '10.0.0.254' });
    expect(m.disk).toEqual({ byId: ['nvme-*'], minGiB: 40 });
    expect(m.user).toMatchObject({ name: 'edge', sshKeys: [ED25519] });
  });
});

describe('nodes: validation', () => {
  it('accepts two machines told apart by MAC plus a default', async () => {
    expect(
      await errorsOf([
        { name: 'a', match: { mac: '52:54:00:00:00:01' }, hostname: 'node-a' },
        { name: 'b', match: { mac: '52:54:00:00:00:02' }, hostname: 'node-b' },
        { name: 'spare', default: true, hostname: 'spare' },
      ]),
    ).toEqual([]);
  });

  it('refuses entries one machine could satisfy, naming both', async () => {
    const e = await errorsOf([
      { name: 'a', match: { mac: '52:54:00:*' } },
      { name: 'b', match: { smbiosSerial: 'S2' } },
    ]);
    expect(e).toEqual([expect.stringMatching(/^nodes\[1\] \(b\): could match the same machine as nodes\[0\] \(a\)/)]);
    expect(
      await errorsOf([
        { name: 'a', match: { diskSerial: 'X*' } },
        { name: 'b', match: { diskSerial: '*1' } },
      ]),
    ).toHaveLength(1);
  });

  it('checks each entry merged like a whole answers file', async () => {
    const e = await errorsOf([
      { name: 'a', match: { mac: '52:54:00:00:00:01' }, network: { mode: 'static', address: '10.0.0.5' } },
      { name: 'b', match: { mac: '52:54:00:00:00:02' }, network: { mtu: 9000 } },
    ]);
    expect(e.some((l) => l.startsWith('nodes[0] (a): network') && /prefix|gateway/.test(l))).toBe(true);
    expect(e.some((l) => l.startsWith('nodes[1] (b): network') && l.includes('mtu'))).toBe(true);
  });

  it('refuses two defaults, a duplicate name, an entry with no match, a default with a match', async () => {
    const e = await errorsOf([
      { name: 'a', default: true },
      { name: 'a', default: true, match: { mac: 'x' } },
      { name: 'c' },
    ]);
    expect(e).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^nodes\[1\] \(a\): the name is already used by nodes\[0\]/),
        expect.stringMatching(/^nodes\[1\] \(a\): a default entry has no match/),
        expect.stringMatching(/^nodes\[2\] \(c\): needs a match/),
        expect.stringMatching(/^nodes: 2 entries have default: true/),
      ]),
    );
  });

  it('refuses bracket globs, a bad name and default: false', async () => {
    const e = await errorsOf([
      { name: '../x', match: { mac: '52:[0-9]*' } },
      { name: 'b', default: false },
    ]);
    expect(e.join('\n')).toMatch(/nodes\[0\]\.name/);
    expect(e.join('\n')).toMatch(/nodes\[0\]\.match\.mac: may use only/);
    expect(e.join('\n')).toMatch(/nodes\[1\]\.default/);
  });

  it('takes 1000 distinct MACs in well under the test timeout', async () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => ({
      name: `n${i}`,
      match: {
        mac: `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      },
      hostname: `n${i}`,
    }));
    const t0 = Date.now();
    expect(await errorsOf(nodes)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(await errorsOf([...nodes, { name: 'x', match: {} }])).toHaveLength(1);
  });
});

describe('listNodes (make-iso inspect)', () => {
  it('lists name, match and host name from the redacted answers, nothing else', () => {
    const redacted = {
      hostname: 'base',
      nodes: [
        {
          name: 'a',
          match: { mac: '52:54:00:00:00:01', smbiosSerial: 'S1' },
          hostname: 'node-a',
          user: { sshKeys: [ED25519] },
        },
        { name: 'spare', default: true },
      ],
    };
    const l = listNodes(redacted);
    expect(l).toEqual([
      { name: 'a', match: 'mac=52:54:00:00:00:01 smbiosSerial=S1', hostname: 'node-a' },
      { name: 'spare', match: 'default', hostname: 'base' },
    ]);
    expect(JSON.stringify(l)).not.toContain('ssh-ed25519');
  });

  it('a manifest without nodes (or a foreign shape) lists none', () => {
    expect(listNodes({ hostname: 'x' })).toEqual([]);
    expect(listNodes(undefined)).toEqual([]);
    expect(listNodes({ nodes: [null, 3, { match: {} }] })).toEqual([]);
  });
});

describe('summary', () => {
  it('shows the entries of a fleet medium, and nothing without nodes', async () => {
    const { summarize } = await import('../../../src/answers/summary.js');
    const r = await parseAnswers(
      JSON.stringify({
        ...minimal(),
        nodes: [
          { name: 'a', match: { mac: '52:54:00:00:00:01' } },
          { name: 'spare', default: true },
        ],
      }),
      '/nonexistent',
      { checkFiles: false },
    );
    expect(r.errors).toEqual([]);
    expect(summarize(r.answers!).find(([k]) => k === 'nodes')?.[1]).toBe(
      '2 entries (a, spare; default spare); see docs/fleet-media.md',
    );
    const plain = await parseAnswers(JSON.stringify(minimal()), '/nonexistent', { checkFiles: false });
    expect(summarize(plain.answers!).some(([k]) => k === 'nodes')).toBe(false);
  });
});
