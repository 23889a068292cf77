// Why: answers.schema.json is generated from the zod schema; this fails when the checked-in copy is stale.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { answersJsonSchemaText, SCHEMA_FILE } from '../../../src/answers/json-schema.js';
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
