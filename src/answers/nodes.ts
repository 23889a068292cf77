// Why: one answers file plus a node list gives one ISO per node (`make-iso build --answers
// base.yaml --nodes nodes.yaml|nodes.csv --output-dir DIR`). A node may only change what differs
// between nodes: its host name, its network and disk rules (key by key over the base's) and its
// user's ssh keys (replacing the base's list); everything else, and so the bootkit work, is
// shared. The merged answers are validated like any answers file.
import { readFile, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { UserError, ValidationError } from '../errors.js';
import type { Override } from './load.js';
import { parseNodesCsv } from './nodes-csv.js';
import { hostname } from './schema.js';

/** A node's name is its ISO's file name (DIR/<name>.iso): no path, no surprises. */
const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const nodeSchema = z
  .strictObject({
    name: z
      .string()
      .regex(NODE_NAME_RE, 'must be 1-63 of letters, digits, ".", "_" and "-", starting with a letter or digit')
      .optional()
      .describe('the ISO is written as <output-dir>/<name>.iso; default: the host name'),
    hostname: hostname.describe("the node's host name"),
    network: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("keys of the answers' network section this node sets (mode, interface, address, prefix, gateway, dns)"),
    user: z
      .strictObject({ sshKeys: z.array(z.string()).describe("replaces the base's user.sshKeys") })
      .optional()
      .describe("this node's user: only its ssh keys"),
    disk: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("keys of the answers' disk section this node sets (match, byId, serial, model, minGiB, ...)"),
  })
  .describe('one node: its host name and, optionally, its network, disk rules and ssh keys');

export const nodesFileSchema = z
  .strictObject({
    nodes: z.array(nodeSchema).min(1).max(1000).describe('the nodes, one ISO each'),
  })
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.nodes.forEach((n, i) => {
      const name = nodeName(n);
      if (seen.has(name))
        ctx.addIssue({ code: 'custom', path: ['nodes', i], message: `node name ${name} is used twice` });
      seen.add(name);
    });
  })
  .describe('per-node overrides for make-iso build --nodes');

export type NodeEntry = z.infer<typeof nodeSchema>;

export function nodeName(n: NodeEntry): string {
  return n.name ?? n.hostname;
}

/** What a node changes in the base answers, as overrides (network merged key by key). */
export function nodeOverrides(n: NodeEntry): Override[] {
  return [
    { path: ['hostname'], value: n.hostname },
    ...Object.entries(n.network ?? {}).map(([k, value]) => ({ path: ['network', k], value })),
    ...Object.entries(n.disk ?? {}).map(([k, value]) => ({ path: ['disk', k], value })),
    ...(n.user ? [{ path: ['user', 'sshKeys'], value: n.user.sshKeys }] : []),
  ];
}

/** A node and, for a CSV list, the row it came from and the columns it set. */
export interface LoadedNode {
  entry: NodeEntry;
  csv?: { file: string; row: number; columns: string[] };
}

/**
 * Says where a problem of a node's merged answers comes from: for a CSV row, a problem with a
 * key the row set is `nodes.csv row 4, column network.address: ...`; otherwise `node NAME: ...`.
 */
export function nodeProblem(n: LoadedNode, problem: string): string {
  const key = /^([A-Za-z0-9_.]+): /.exec(problem)?.[1];
  const set = n.csv?.columns ?? nodeOverrides(n.entry).map((o) => o.path.join('.'));
  const own = key === undefined ? undefined : set.find((c) => key === c || key.startsWith(`${c}.`));
  // a key the node set has no line in the base answers file: drop the base's " (line N)"
  const text = own ? problem.replace(/ \(line [0-9]+\)$/, '') : problem;
  if (n.csv) {
    const where = `${basename(n.csv.file)} row ${n.csv.row}`;
    if (own) return `${where}, column ${own}: ${text.slice(text.indexOf(': ') + 2)}`;
    return `node ${nodeName(n.entry)} (${where}): ${text}`;
  }
  return `node ${nodeName(n.entry)}: ${text}`;
}

/** Reads and validates a node list (YAML or JSON); every problem at once. */
export async function loadNodes(file: string): Promise<NodeEntry[]> {
  return (await loadNodeList(file)).map((n) => n.entry);
}

/** Reads and validates a node list: CSV (by its `.csv` name), else YAML or JSON; every problem at once. */
export async function loadNodeList(file: string): Promise<LoadedNode[]> {
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) throw new UserError(`the node list ${file} does not exist or is not a file`);
  if (s.size > 1024 * 1024) throw new UserError(`the node list ${file} is ${s.size} bytes; at most 1 MiB`);
  const text = await readFile(file, 'utf8');
  const csv = extname(file).toLowerCase() === '.csv' ? parseNodesCsv(text) : undefined;
  if (csv?.problems.length) throw new ValidationError(csv.problems, file);
  let value: unknown;
  if (csv) value = { nodes: csv.nodes.map((n) => n.entry) };
  else {
    try {
      value = parse(text, { maxAliasCount: 50 });
    } catch (err) {
      throw new UserError(`the node list ${file} cannot be parsed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const r = nodesFileSchema.safeParse(value);
  if (!r.success) {
    throw new ValidationError(
      r.error.issues.map((i) => {
        const [top, index, ...rest] = i.path.map(String);
        const row = csv && top === 'nodes' && index !== undefined ? csv.nodes[Number(index)] : undefined;
        if (row) {
          return rest.length
            ? `row ${row.row}, column ${rest.join('.')}: ${i.message}`
            : `row ${row.row}: ${i.message}`;
        }
        return `${i.path.map(String).join('.') || '(top)'}: ${i.message}`;
      }),
      file,
    );
  }
  // a node name that is not a valid host name still needs a safe file name
  for (const n of r.data.nodes) {
    if (!NODE_NAME_RE.test(nodeName(n))) {
      throw new ValidationError(
        [`node ${n.hostname}: give it a name (its host name is too long for a file name)`],
        file,
      );
    }
  }
  return r.data.nodes.map((entry, i) => {
    const row = csv?.nodes[i];
    return row ? { entry, csv: { file, row: row.row, columns: row.columns } } : { entry };
  });
}
