// Why: docs/cli-reference.md is generated from the commands' own help; it must never drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cliReferenceMarkdown } from '../../../src/cli/reference.js';
import { projectRoot } from '../../../src/version.js';

test('docs/cli-reference.md is current (regenerate: npm run docs)', () => {
  const text = readFileSync(join(projectRoot, 'docs/cli-reference.md'), 'utf8');
  expect(text.trim()).toBe(cliReferenceMarkdown().trim());
});

test('the reference documents every command and the write safety flags', () => {
  const md = cliReferenceMarkdown();
  for (const c of [
    'doctor',
    'inspect',
    'drives',
    'write',
    'schema',
    'build',
    'init',
    'validate',
    'hash-password',
    'import-config',
  ]) {
    expect(md).toContain(`## make-iso ${c}\n`);
  }
  expect(md).toContain('--allow-internal-disk');
  expect(md).toContain('--for <uses>');
});
