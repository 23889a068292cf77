// Why: the `init` template must mention every answers key, stay valid YAML, and validate once filled in.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { parseAnswers } from '../../../src/answers/load.js';
import { answersSchema } from '../../../src/answers/schema.js';
import { answersTemplate } from '../../../src/answers/template.js';
import { HASH, inputsDir } from './helpers.js';

/** Every key path of the schema (objects and arrays of objects), e.g. `disk.minGiB`. */
function keyPaths(json: Record<string, unknown>, prefix = ''): string[] {
  const props = (json.properties ?? {}) as Record<string, Record<string, unknown>>;
  const out: string[] = [];
  for (const [k, v] of Object.entries(props)) {
    if (k === '$schema') continue;
    out.push(`${prefix}${k}`);
    const obj = (v.anyOf as Array<Record<string, unknown>> | undefined)?.find((x) => x.type === 'object') ?? v;
    if (obj.type === 'object') out.push(...keyPaths(obj, `${prefix}${k}.`));
    const items = obj.items as Record<string, unknown> | undefined;
    if (obj.type === 'array' && items?.type === 'object') out.push(...keyPaths(items, `${prefix}${k}[].`));
  }
  return out;
}

test('every key of the schema appears in the template', async () => {
  const { z } = await import('zod');
  const paths = keyPaths(z.toJSONSchema(answersSchema, { io: 'input' }) as Record<string, unknown>);
  expect(paths.length).toBeGreaterThan(50);
  const text = answersTemplate('# modeline');
  for (const p of paths) {
    const last = p.split('.').pop()!.replace('[]', '');
    expect(text, p).toMatch(new RegExp(`^[ #-]*${last.replace('$', '\\$')}:`, 'm'));
  }
});

test('the template is YAML and validates once paths and a login are filled in', async () => {
  const dir = inputsDir();
  writeFileSync(join(dir, 'emb_uos_x86_64_YYYYMMDD.tar.gz'), 'x');
  writeFileSync(join(dir, 'edge-readonly.raw.gz'), 'x');
  const text = answersTemplate('# yaml-language-server: $schema=x');
  expect(() => parse(text)).not.toThrow();
  const empty = await parseAnswers(text, inputsDir());
  expect(empty.errors).toEqual([
    'user: give user.passwordHash, user.sshKeys or both, otherwise nobody can log in to the node',
    expect.stringMatching(/^bootkit\.archive: .* does not exist$/),
    expect.stringMatching(/^osImage\.path: .* does not exist$/),
  ]);
  const filled = text.replace("# passwordHash: '$6$...'", `passwordHash: '${HASH}'`);
  const r = await parseAnswers(filled, dir);
  expect(r.errors).toEqual([]);
  expect(r.warnings).toEqual([]);
});
