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
