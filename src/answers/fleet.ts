// Why: one medium for many machines (`nodes:` in the answers, docs/fleet-media.md). Each entry
// says how the installer recognises a machine and what it changes in the answers; its merged
// answers are checked like a whole answers file, and two entries that could both match one
// machine are refused at build time, so the installer's choice on the node is never a guess.
import { NODE_MATCH_CASELESS, NODE_MATCH_KINDS } from '../facts.js';
import { answersSchema, type Answers, type FleetNode } from './schema.js';
import { checkRules } from './rules.js';

export type MatchKind = (typeof NODE_MATCH_KINDS)[number];

/** The criteria of an entry as [kind, glob] pairs, in fact order; MAC/UUID globs lower-cased. */
export function nodeCriteria(n: FleetNode): Array<readonly [MatchKind, string]> {
  const m = (n.match ?? {}) as Record<string, string | undefined>;
  const out: Array<readonly [MatchKind, string]> = [];
  for (const k of NODE_MATCH_KINDS) {
    const g = m[k];
    if (g !== undefined) out.push([k, NODE_MATCH_CASELESS.has(k) ? g.toLowerCase() : g]);
  }
  return out;
}

/**
 * Whether some string matches both globs (over `*` and `?`; every other character literal).
 * No glob library answers this: minimatch, picomatch and micromatch compile a pattern to a
 * regular expression to test strings against; whether two patterns' languages intersect is a
 * question about the product of their automata, which is what this walks: state (i, j) means
 * the first i characters of `a` and the first j of `b` can read the same prefix. O(|a|*|b|).
 */
export function globsIntersect(a: string, b: string): boolean {
  if (!/[*?]/.test(a) && !/[*?]/.test(b)) return a === b;
  const seen = new Set<number>();
  const w = b.length + 1;
  const stack: Array<[number, number]> = [[0, 0]];
  while (stack.length > 0) {
    const [i, j] = stack.pop()!;
    const key = i * w + j;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === a.length && j === b.length) return true;
    const ca = a[i];
    const cb = b[j];
    // a `*` may match the empty string
    if (ca === '*') stack.push([i + 1, j]);
    if (cb === '*') stack.push([i, j + 1]);
    if (ca === undefined || cb === undefined) continue;
    // both read one character: a `*` stays where it is, anything else moves on
    if (ca === '*' && cb !== '*') stack.push([i, j + 1]);
    else if (cb === '*' && ca !== '*') stack.push([i + 1, j]);
    else if (ca !== '*' && (ca === '?' || cb === '?' || ca === cb)) stack.push([i + 1, j + 1]);
  }
  return false;
}

/**
 * Whether one machine could satisfy both entries. An entry matches when every criterion it gives
 * matches, so two entries are kept apart only by a criterion kind both give whose globs cannot
 * match the same string. Entries on different kinds never are (one machine has a MAC and a serial).
 */
export function couldOverlap(a: FleetNode, b: FleetNode): boolean {
  const ca = new Map(nodeCriteria(a));
  for (const [kind, gb] of nodeCriteria(b)) {
    const ga = ca.get(kind);
    if (ga !== undefined && !globsIntersect(ga, gb)) return false;
  }
  return true;
}

/** The answers with one entry's overrides applied (network, disk and cloudInit merged key by key); not yet parsed. */
export function mergeNode(base: Record<string, unknown>, n: FleetNode): Record<string, unknown> {
  const obj = (v: unknown): Record<string, unknown> =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const out: Record<string, unknown> = { ...base };
  delete out.nodes;
  if (n.hostname !== undefined) out.hostname = n.hostname;
  if (n.network) out.network = { ...obj(base.network), ...n.network };
  if (n.disk) out.disk = { ...obj(base.disk), ...n.disk };
  if (n.user) out.user = { ...obj(base.user), sshKeys: n.user.sshKeys };
  if (n.cloudInit) out.cloudInit = { ...obj(base.cloudInit), ...n.cloudInit };
  return out;
}

/** A schema issue path as `a.b[0]`. */
function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** One entry's full answers (parsed, checked by the cross-field rules), or its problems. */
export function nodeAnswers(base: Answers, n: FleetNode): { answers?: Answers; errors: string[] } {
  const parsed = answersSchema.safeParse(mergeNode(base as unknown as Record<string, unknown>, n));
  if (!parsed.success) {
    return { errors: parsed.error.issues.map((i) => `${pathText(i.path) || '(top level)'}: ${i.message}`) };
  }
  const rules = checkRules(parsed.data);
  return rules.errors.length > 0 ? { errors: rules.errors } : { answers: parsed.data, errors: [] };
}

/** Every problem of the `nodes:` list of valid base answers, as `nodes[i] (name): ...` lines. */
export function checkNodes(a: Answers): string[] {
  const nodes = a.nodes ?? [];
  const errors: string[] = [];
  const at = (i: number): string => `nodes[${i}] (${nodes[i]?.name ?? '?'})`;
  const names = new Map<string, number>();
  const defaults: number[] = [];
  nodes.forEach((n, i) => {
    const first = names.get(n.name);
    if (first !== undefined) errors.push(`${at(i)}: the name is already used by nodes[${first}]`);
    else names.set(n.name, i);
    const criteria = nodeCriteria(n);
    if (n.default) defaults.push(i);
    else if (criteria.length === 0) {
      errors.push(`${at(i)}: needs a match (${NODE_MATCH_KINDS.join(', ')}) or default: true`);
    }
    if (n.default && criteria.length > 0) errors.push(`${at(i)}: a default entry has no match`);
    for (const e of nodeAnswers(a, n).errors) errors.push(`${at(i)}: ${e}`);
  });
  if (defaults.length > 1) {
    errors.push(`nodes: ${defaults.length} entries have default: true (${defaults.map(at).join(', ')}); at most one`);
  }
  const matched = nodes.map((n, i) => [n, i] as const).filter(([n]) => !n.default && nodeCriteria(n).length > 0);
  for (let x = 0; x < matched.length; x++) {
    for (let y = x + 1; y < matched.length; y++) {
      const [na, ia] = matched[x]!;
      const [nb, ib] = matched[y]!;
      if (couldOverlap(na, nb)) {
        errors.push(
          `${at(ib)}: could match the same machine as ${at(ia)} (${describeMatch(na)} / ${describeMatch(nb)}); give both a criterion of the same kind that cannot match the same value`,
        );
      }
    }
  }
  return errors;
}

/** `mac=52:54:* smbiosSerial=S1`, or `default`. */
export function describeMatch(n: FleetNode): string {
  if (n.default) return 'default';
  return nodeCriteria(n)
    .map(([k, g]) => `${k}=${g}`)
    .join(' ');
}

export interface NodeListing {
  name: string;
  match: string;
  hostname: string;
}

/**
 * The node entries of a manifest's redacted answers, for `make-iso inspect`: name, match and
 * host name only (the redacted copy holds no secrets; this shows less still). Tolerates any shape.
 */
export function listNodes(redacted: unknown): NodeListing[] {
  const nodes = (redacted as { nodes?: unknown } | null | undefined)?.nodes;
  if (!Array.isArray(nodes)) return [];
  const base = (redacted as { hostname?: unknown }).hostname;
  return nodes.flatMap((n: unknown) => {
    const e = n as Partial<FleetNode> | null;
    if (!e || typeof e !== 'object' || typeof e.name !== 'string') return [];
    const m = e.match && typeof e.match === 'object' ? e.match : {};
    const match = e.default
      ? 'default'
      : Object.entries(m)
          .filter(([, g]) => typeof g === 'string')
          .map(([k, g]) => `${k}=${String(g)}`)
          .join(' ');
    const hostname = typeof e.hostname === 'string' ? e.hostname : typeof base === 'string' ? base : '(image default)';
    return [{ name: e.name, match: match || '(none)', hostname }];
  });
}
