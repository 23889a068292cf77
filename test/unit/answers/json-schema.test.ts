// Why: answers.schema.json is generated from the zod schema; this fails when the checked-in copy is stale.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { answersJsonSchemaText, answersKeyTable, SCHEMA_FILE } from '../../../src/answers/json-schema.js';
import { parseAnswers } from '../../../src/answers/load.js';
import { projectRoot } from '../../../src/version.js';

test(`${SCHEMA_FILE} is up to date (regenerate: npm run build && node dist/cli/main.js schema -o ${SCHEMA_FILE})`, () => {
  const checkedIn = readFileSync(join(projectRoot, SCHEMA_FILE), 'utf8');
  expect(checkedIn).toBe(answersJsonSchemaText());
});

test('the JSON Schema is strict and described', () => {
  const s = JSON.parse(answersJsonSchemaText()) as {
    additionalProperties: boolean;
    required: string[];
    properties: Record<string, { description?: string; additionalProperties?: boolean }>;
  };
  expect(s.additionalProperties).toBe(false);
  expect(s.required).toEqual(['bootkit', 'osImage', 'user']);
  for (const [key, prop] of Object.entries(s.properties)) {
    expect(prop.description, key).toBeTruthy();
  }
  expect(s.properties.user?.additionalProperties).toBe(false);
});

/** docs/answers.md embeds the key table and an example. */
function docsWithTable(): Array<[string, string]> {
  return ['docs/answers.md']
    .map((f): [string, string] => {
      try {
        return [f, readFileSync(join(projectRoot, f), 'utf8')];
      } catch {
        return [f, ''];
      }
    })
    .filter(([, text]) => text.includes('<!-- answers-keys:start -->'));
}

test('the answers key table in the docs is current (regenerate: make-iso schema --markdown)', () => {
  const docs = docsWithTable();
  expect(docs.length).toBeGreaterThan(0);
  for (const [file, text] of docs) {
    const table = text.slice(
      text.indexOf('<!-- answers-keys:start -->') + '<!-- answers-keys:start -->'.length,
      text.indexOf('<!-- answers-keys:end -->'),
    );
    expect(table.trim(), file).toBe(answersKeyTable());
  }
});

test('the example answers file in the docs is valid', async () => {
  for (const [file, text] of docsWithTable()) {
    const m = /### A complete example\s+```yaml\n([\s\S]*?)```/.exec(text);
    expect(m, file).not.toBeNull();
    const r = await parseAnswers(m![1]!, '/tmp', { checkFiles: false });
    expect(r.errors, file).toEqual([]);
  }
});
