// Why: editors validate answers files against answers.schema.json; it is generated from the zod
// schema here (never edited by hand) and a unit test fails when the checked-in copy is stale.
import { join, relative } from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../version.js';
import { answersSchema } from './schema.js';

export const SCHEMA_FILE = 'answers.schema.json';
/** Where the schema of this make-iso install is. */
export const schemaPath = join(projectRoot, SCHEMA_FILE);

/** The first line of an answers file in `dir`, so YAML editors find the schema (relative when close). */
export function schemaModeline(dir: string): string {
  const rel = relative(dir, schemaPath);
  const ref = rel.split('/').filter((p) => p === '..').length <= 3 ? rel : schemaPath;
  return `# yaml-language-server: $schema=${ref}`;
}

/** The JSON Schema (draft 2020-12) of the answers file, as the text checked in at the repo root. */
export function answersJsonSchemaText(): string {
  const schema = z.toJSONSchema(answersSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: 'make-iso answers' }, null, 2)}\n`;
}

interface JsonSchemaNode {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchemaNode[];
  items?: JsonSchemaNode;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  default?: unknown;
  description?: string;
}

function typeOf(n: JsonSchemaNode): string {
  if (n.anyOf) return [...new Set(n.anyOf.map(typeOf))].join(' \\| ');
  if (n.enum) return n.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (n.const !== undefined) return `\`${String(n.const)}\``;
  if (n.type === 'array') {
    const item = n.items ? typeOf(n.items) : 'any';
    return `list of ${n.items?.anyOf ? `(${item})` : item}`;
  }
  if (Array.isArray(n.type)) return n.type.join(' \\| ');
  return n.type ?? 'any';
}

/** The Markdown table of every answers key (README.md embeds it; a test keeps it current). */
export function answersKeyTable(): string {
  const root = z.toJSONSchema(answersSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const rows: string[] = ['| key | type | default | meaning |', '|---|---|---|---|'];
  const esc = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const walk = (node: JsonSchemaNode, prefix: string): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      if (key === '$schema') continue;
      const path = `${prefix}${key}`;
      const obj = child.anyOf?.find((x) => x.type === 'object') ?? child;
      const isObject = obj.type === 'object';
      const dflt =
        child.default === undefined || isObject
          ? (node.required ?? []).includes(key)
            ? '**required**'
            : ''
          : `\`${JSON.stringify(child.default)}\``;
      const type = isObject
        ? child.anyOf?.some((x) => x.type === 'null')
          ? 'object \\| null'
          : 'object'
        : typeOf(child);
      rows.push(`| \`${path}\` | ${type} | ${dflt} | ${esc(child.description ?? obj.description ?? '')} |`);
      if (isObject) walk(obj, `${path}.`);
      if (obj.type === 'array' && obj.items?.type === 'object') walk(obj.items, `${path}[].`);
    }
  };
  walk(root, '');
  return rows.join('\n');
}
