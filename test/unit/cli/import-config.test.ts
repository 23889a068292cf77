// Why: the import-config command's contract: a 0600 answers file that loads, the left-behind keys on
// stderr, and nothing written (not even a partial file) when the result would not validate.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { expect, test } from 'vitest';
import { loadAnswers } from '../../../src/answers/load.js';
import { register } from '../../../src/cli/commands/import-config.js';
import type { Cli } from '../../../src/cli/context.js';
import { ExitCode, MakeIsoError, ValidationError } from '../../../src/errors.js';
import { HASH } from '../answers/helpers.js';

const fixtures = join(import.meta.dirname, '..', 'answers', 'fixtures');

async function run(args: string[]): Promise<{ error?: unknown; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const cli: Cli = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    setExitCode: () => {},
    progress: () => {},
    isTTY: false,
  };
  const program = new Command('make-iso').exitOverride();
  register(program, cli);
  try {
    await program.parseAsync(['import-config', ...args], { from: 'user' });
    return { out, err };
  } catch (error) {
    return { error, out, err };
  }
}

test('writes a 0600 answers file that loads, and names what it left behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mi-import-'));
  writeFileSync(join(dir, 'boot.tar.gz'), 'bootkit');
  writeFileSync(join(dir, 'emt.raw.gz'), 'image');
  const out = join(dir, 'answers.yaml');
  const r = await run([
    join(fixtures, 'config-file-full'),
    '-o',
    out,
    '--bootkit',
    './boot.tar.gz',
    '--os-image',
    './emt.raw.gz',
  ]);
  expect(r.error).toBeUndefined();
  expect(statSync(out).mode & 0o777).toBe(0o600);
  expect(r.out[0]).toMatch(/^wrote .*answers.yaml \(\d+ config-file keys carried over\)$/);
  expect(r.err.some((l) => l.startsWith('passwd (line 19): not carried over'))).toBe(true);
  const loaded = await loadAnswers(out);
  expect(loaded.errors).toEqual([]);
  expect(loaded.answers?.hugepages).toBe(12288);

  // a second run refuses to replace it; --force replaces it
  const again = await run([join(fixtures, 'config-file-full'), '-o', out]);
  expect((again.error as Error).message).toMatch(/already exists; use --force/);
  const forced = await run([join(fixtures, 'config-file-full'), '-o', out, '--force', '--password-hash', HASH]);
  expect(forced.error).toBeUndefined();
  expect(readFileSync(out, 'utf8')).toContain(HASH);
});

test('an import that would not validate writes nothing and exits 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mi-import-'));
  copyFileSync(join(fixtures, 'config-file-dv'), join(dir, 'config-file'));
  const out = join(dir, 'answers.yaml');
  const r = await run([join(dir, 'config-file'), '-o', out]);
  expect(r.error).toBeInstanceOf(ValidationError);
  expect((r.error as MakeIsoError).exitCode).toBe(ExitCode.badInput);
  expect((r.error as Error).message).toMatch(/pass --password-hash/);
  expect(existsSync(out)).toBe(false);
  expect(r.err.some((l) => l.startsWith('ssh_key (line 10): not carried over'))).toBe(true);
});

test('a missing config-file is one line, exit 2', async () => {
  const r = await run(['/nonexistent/config-file']);
  expect((r.error as MakeIsoError).exitCode).toBe(ExitCode.badInput);
  expect((r.error as Error).message).toBe('/nonexistent/config-file: does not exist');
});
