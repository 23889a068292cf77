// Why: one answers file plus a node list gives one ISO per node (`make-iso build --answers
// base.yaml --nodes nodes.yaml --output-dir DIR`). A node may only change what differs between
// nodes: its host name and its network (key by key over the base's network); everything else,
// and so the bootkit work, is shared. The merged answers are validated like any answers file.
import { readFile, stat } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { UserError, ValidationError } from '../errors.js';
import type { Override } from './load.js';
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
  })
  .describe('one node: its host name and, optionally, its network');

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
  ];
}

/** Reads and validates a node list (YAML or JSON); every problem at once. */
export async function loadNodes(file: string): Promise<NodeEntry[]> {
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) throw new UserError(`the node list ${file} does not exist or is not a file`);
  if (s.size > 1024 * 1024) throw new UserError(`the node list ${file} is ${s.size} bytes; at most 1 MiB`);
  let value: unknown;
  try {
    value = parse(await readFile(file, 'utf8'), { maxAliasCount: 50 });
  } catch (err) {
    throw new UserError(`the node list ${file} cannot be parsed: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = nodesFileSchema.safeParse(value);
  if (!r.success) {
    throw new ValidationError(
      r.error.issues.map((i) => `${i.path.map(String).join('.') || '(top)'}: ${i.message}`),
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
  return r.data.nodes;
}
