// Why: init, validate, hash-password, schema and build as a user runs them (the built CLI): exit
// codes, messages without stack traces, files written 0600, JSON output.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../../../src/version.js';
import { ED25519, HASH } from '../../unit/answers/helpers.js';

const MAIN = join(projectRoot, 'dist/cli/main.js');

function run(args: string[], opts: { cwd: string; input?: string; env?: Record<string, string> }) {
  return execa(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd,
    input: opts.input ?? '',
    reject: false,
    env: { NO_COLOR: '1', ...opts.env },
  });
}

function noStack(text: string): void {
  expect(text).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$/m);
  expect(text).not.toContain('internal error');
}

let dir: string;
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'mi-cli-'));
  writeFileSync(join(dir, 'boot.tar.gz'), 'bootkit');
  writeFileSync(join(dir, 'emt.raw.gz'), 'image');
});

function writeAnswers(name: string, body: string): string {
  writeFileSync(join(dir, name), body, { mode: 0o600 });
  return name;
}

const VALID = `bootkit: { archive: boot.tar.gz }
osImage: { path: emt.raw.gz }
user:
  name: edge
  passwordHash: '${HASH}'
  sshKeys: ['${ED25519}']
`;

describe('init', () => {
  test('writes a commented template 0600, refuses to overwrite, --force replaces', async () => {
    const r = await run(['init', 'a.yaml'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('wrote a.yaml');
    const file = join(dir, 'a.yaml');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=.*answers\.schema\.json$/);
    expect(text).toContain('make-iso hash-password');

    const again = await run(['init', 'a.yaml'], { cwd: dir });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/a\.yaml already exists; use --force to replace it/);
    noStack(again.stderr);

    writeFileSync(file, 'old');
    const forced = await run(['init', '--force', 'a.yaml'], { cwd: dir });
    expect(forced.exitCode).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('bootkit:');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test('into a missing directory is a clear error', async () => {
    const r = await run(['init', 'no/such/dir/a.yaml'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/its directory does not exist/);
    noStack(r.stderr);
  });
});

describe('validate', () => {
  test('a valid file: exit 0 and a summary', async () => {
    const f = writeAnswers('ok.yaml', VALID);
    const r = await run(['validate', '--answers', f, '--no-tools'], { cwd: dir });
    expect(r.stderr).toMatch(/osImage\.sha256: not given/);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^ok\.yaml: valid \(1 warning\)$/m);
    expect(r.stdout).toMatch(/user:\s+edge \(password \+ 1 ssh key\)/);
  });

  test('every problem at once, exit 2, no stack', async () => {
    const f = writeAnswers(
      'bad.yaml',
      `bootkit: { archive: missing.tar.gz }
osImage: { path: emt.raw.gz, sha256: '${'0'.repeat(64)}' }
user: { name: Edge, password: hunter2 }
netwrok: {}
`,
    );
    const r = await run(['validate', '--answers', f, '--no-tools'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^make-iso: bad\.yaml has 4 problems:$/m);
    expect(r.stderr).toMatch(/^ {2}user\.name: must be a POSIX user name.*\(line 3\)$/m);
    expect(r.stderr).toMatch(/^ {2}user\.password: unknown key; a plain password is refused/m);
    expect(r.stderr).toMatch(/^ {2}netwrok: unknown key; did you mean `network`\? \(line 4\)$/m);
    expect(r.stderr).toMatch(/^ {2}bootkit\.archive: .*missing\.tar\.gz does not exist$/m);
    expect(r.stderr).not.toContain('hunter2');
    noStack(r.stderr);
  });

  test('a checksum that differs is a problem (exit 2)', async () => {
    const f = writeAnswers(
      'sum.yaml',
      `${VALID}\n`.replace('emt.raw.gz }', `emt.raw.gz, sha256: '${'a'.repeat(64)}' }`),
    );
    const r = await run(['validate', '--answers', f, '--no-tools'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/osImage\.sha256: .*emt\.raw\.gz has sha256 [0-9a-f]{64}, but osImage\.sha256 says a{64}/);
    const skip = await run(['validate', '--answers', f, '--no-tools', '--no-checksums'], { cwd: dir });
    expect(skip.exitCode).toBe(0);
  });

  test('flags override the file', async () => {
    const f = writeAnswers('ok2.yaml', VALID);
    const r = await run(['validate', '-a', f, '--no-tools', '--os-image', 'nope.raw.gz'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`osImage.path: ${join(dir, 'nope.raw.gz')} does not exist`);
  });

  test('missing host tools: exit 3 naming the packages', async () => {
    const f = writeAnswers('ok3.yaml', VALID);
    const r = await run(['validate', '--answers', f, '--no-checksums'], {
      cwd: dir,
      env: { PATH: join(dir, 'empty-bin') },
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/xorriso.* is not installed; install it with: apt-get install .*xorriso/);
    noStack(r.stderr);
  });

  test('--json: one result object, or the problems', async () => {
    const ok = await run(['validate', '--answers', writeAnswers('j.yaml', VALID), '--no-tools', '--json'], {
      cwd: dir,
    });
    expect(ok.exitCode).toBe(0);
    const lines = ok.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ type: 'result', ok: true, file: 'j.yaml' });
    const bad = await run(['validate', '--answers', writeAnswers('jb.yaml', 'hugepages: x\n'), '--json'], { cwd: dir });
    expect(bad.exitCode).toBe(2);
    const last = JSON.parse(bad.stdout.trim().split('\n').at(-1) ?? '{}') as { type: string; problems: string[] };
    expect(last.type).toBe('error');
    expect(last.problems).toEqual(expect.arrayContaining(['hugepages: must be a number (got string) (line 1)']));
  });

  test('a missing answers file', async () => {
    const r = await run(['validate', '--answers', 'nope.yaml'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/nope\.yaml: does not exist/);
    noStack(r.stderr);
  });
});

describe('hash-password', () => {
  test('from stdin: prints only the hash, equal to openssl with the same salt', async () => {
    const r = await run(['hash-password', '--salt', 'Xsalt123'], { cwd: dir, input: 'correct horse\n' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(HASH);
    expect(r.stderr).toBe('');
    const openssl = execFileSync('openssl', ['passwd', '-6', '-salt', 'Xsalt123', 'correct horse']).toString().trim();
    expect(r.stdout).toBe(openssl);
  });

  test('random salt by default; the password never appears', async () => {
    const r = await run(['hash-password'], { cwd: dir, input: 'hunter2' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}$/);
    expect(r.stdout + r.stderr).not.toContain('hunter2');
  });

  test('empty input and bad options are exit 2', async () => {
    const empty = await run(['hash-password'], { cwd: dir, input: '' });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toMatch(/no password on standard input/);
    const salt = await run(['hash-password', '--salt', 'a$b'], { cwd: dir, input: 'pw\n' });
    expect(salt.exitCode).toBe(2);
    expect(salt.stderr).toMatch(/salt must be/);
    noStack(salt.stderr);
  });
});

describe('schema and build', () => {
  test('schema prints the checked-in answers.schema.json', async () => {
    const r = await run(['schema'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(`${r.stdout}\n`).toBe(readFileSync(join(projectRoot, 'answers.schema.json'), 'utf8'));
  });

  test('build and make-iso --answers refuse invalid answers before building (exit 2)', async () => {
    const f = writeAnswers('b.yaml', 'bootkit: {}\nuser: { name: edge }\n');
    for (const args of [
      ['build', '--answers', f],
      ['--answers', f],
    ]) {
      const r = await run(args, { cwd: dir });
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/b\.yaml has \d+ problems?:/);
      expect(r.stderr).toContain('osImage: is required');
      noStack(r.stderr);
    }
  });

  test('no arguments without a terminal: help and exit 2; an unknown command gets a suggestion', async () => {
    const r = await run([], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Usage: make-iso/);
    expect(r.stderr).toMatch(/nothing to do: give --answers FILE/);
    const typo = await run(['valdate'], { cwd: dir });
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/unknown command 'valdate'; did you mean 'validate'\?/);
  });
});

describe('doctor', () => {
  test('--for with a typo exits 2 naming the valid uses, and checks nothing', async () => {
    const r = await run(['doctor', '--for', 'bild'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe('make-iso: --for: unknown "bild"; valid: build, usb, test');
    expect(r.stdout).toBe('');
    noStack(r.stderr);
  });

  test('--markdown prints the package table without checking', async () => {
    const r = await run(['doctor', '--markdown'], { cwd: dir });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^\| package \| tools \| use \| need \| needed for \|/);
    expect(r.stdout).toContain('| mtools | `mmd`, `mcopy` |');
  });
});
