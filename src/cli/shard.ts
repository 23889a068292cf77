// Why: a fleet's per-node ISOs are built on engines that already exist (a Kubernetes Indexed Job,
// a CI matrix), no scheduler of our own: each process is told which share of the node list is its
// own. `--shard I/N` builds the nodes whose list index % N == I; in an Indexed Job the index comes
// from JOB_COMPLETION_INDEX and the count from --shard-count or MAKE_ISO_SHARD_COUNT.
import { UserError } from '../errors.js';

export interface Shard {
  /** 0-based */
  index: number;
  count: number;
}

/** A shard count above this is surely a typo (a node list holds at most 1000 nodes). */
export const MAX_SHARDS = 1000;

function wholeNumber(v: string, what: string): number {
  if (!/^[0-9]{1,6}$/.test(v)) throw new UserError(`${what} must be a whole number, not "${v}"`);
  return Number(v);
}

function checked(index: number, count: number, what: string): Shard {
  if (count < 1 || count > MAX_SHARDS)
    throw new UserError(`${what}: the shard count must be 1 to ${MAX_SHARDS}, not ${count}`);
  if (index >= count) throw new UserError(`${what}: the shard index must be 0 to ${count - 1} (0-based), not ${index}`);
  return { index, count };
}

/** Parses `I/N` (0-based I, 0 <= I < N). */
export function parseShardSpec(spec: string): Shard {
  const m = /^\s*([^/]*)\/([^/]*?)\s*$/.exec(spec);
  if (!m) throw new UserError(`--shard must be I/N (e.g. 0/4: the first of 4 shards), not "${spec}"`);
  const index = wholeNumber(m[1]!.trim(), `--shard ${spec}: the index`);
  const count = wholeNumber(m[2]!.trim(), `--shard ${spec}: the count`);
  return checked(index, count, `--shard ${spec}`);
}

/**
 * The shard this process builds, from `--shard`, or from Kubernetes' JOB_COMPLETION_INDEX with
 * `--shard-count` / MAKE_ISO_SHARD_COUNT; undefined: build every node. A count without an index
 * (or an index without a count) is an error, never a silent build of every node in every shard.
 */
export function shardFrom(flags: { shard?: string; shardCount?: string }, env: NodeJS.ProcessEnv): Shard | undefined {
  if (flags.shard !== undefined) {
    if (flags.shardCount !== undefined) {
      throw new UserError('--shard I/N already names the count; --shard-count goes with JOB_COMPLETION_INDEX');
    }
    return parseShardSpec(flags.shard);
  }
  const index = env.JOB_COMPLETION_INDEX?.trim() || undefined;
  const countText = flags.shardCount ?? (env.MAKE_ISO_SHARD_COUNT?.trim() || undefined);
  const countWhat = flags.shardCount !== undefined ? '--shard-count' : 'MAKE_ISO_SHARD_COUNT';
  if (index === undefined) {
    if (countText !== undefined) {
      throw new UserError(
        `${countWhat} is set but there is no shard index: give --shard I/N, or run where JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job)`,
      );
    }
    return undefined;
  }
  if (countText === undefined) {
    throw new UserError(
      `JOB_COMPLETION_INDEX=${index} is set but not the shard count: give --shard-count N or MAKE_ISO_SHARD_COUNT=N (the Job's completions)`,
    );
  }
  return checked(
    wholeNumber(index, 'JOB_COMPLETION_INDEX'),
    wholeNumber(countText, countWhat),
    `JOB_COMPLETION_INDEX=${index} with ${countWhat}=${countText}`,
  );
}

/** The items this shard builds (list index % count == index), in list order; all without a shard. */
export function inShard<T>(items: readonly T[], shard: Shard | undefined): T[] {
  return shard ? items.filter((_, i) => i % shard.count === shard.index) : [...items];
}
