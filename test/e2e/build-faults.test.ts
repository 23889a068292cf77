// Why: build and write faults issue 16 left open: two builds to one output at once, xorriso
// failing or killed mid-write (a fake xorriso first on PATH), and SIGINT/SIGTERM during
// `make-iso write` to an image file or a loop device. Each must end in one clear line with the
// documented exit code, never publish a mixed or partial ISO, and leave no temp file behind.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/version.js';
import type { Fixtures } from '../helpers/fixtures.js';

const MAIN = join(projectRoot, 'dist/cli/main.js');
const isRoot = process.getuid?.() === 0;
let fx: Fixtures;
let root = '';
/** A finished ISO from the fixtures (the source of the `write` cases). */
let goodIso = '';

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  fx = inject('fixtures');
  root = await mkdtemp(join(tmpdir(), 'make-iso-build-faults-'));
  const c = await newCase('good');
  const r = await build(c);
  if (r.exitCode !== 0) throw new Error(`the reference build failed: ${String(r.stderr)}`);
  goodIso = join(c.dir, 'site.iso');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Case {
  dir: string;
  tmp: string;
  answers: string;
}

/** An output directory, a private TMPDIR and an answers file writing site.iso into the directory. */
async function newCase(name: string): Promise<Case> {
  const dir = join(root, name);
  const tmp = join(root, `${name}.tmp`);
  await mkdir(dir);
  await mkdir(tmp);
  const answers = join(root, `${name}.yaml`);
  await writeFile(
    answers,
    [
      `bootkit: { archive: '${fx.builds['full-gzip'].tarball}' }`,
      `osImage: { path: '${fx.osImage}' }`,
      `output: { path: '${join(dir, 'site.iso')}', sourceDateEpoch: 1700000000 }`,
      "user: { name: edge, sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0bQ0b7yWzV4c6t8l0gq0oK2pTtW9V7nZk6Xv2c1Qd faults@test'] }",
    ].join('\n'),
    { mode: 0o600 },
  );
  return { dir, tmp, answers };
}

function build(c: Case, extra: string[] = [], env: Record<string, string> = {}): ResultPromise {
  return execa(process.execPath, [MAIN, '--answers', c.answers, ...extra], {
    reject: false,
    detached: true,
    env: { NO_COLOR: '1', TMPDIR: c.tmp, ...env },
  });
}

const makeIsoLines = (stderr: unknown): string[] =>
  String(stderr)
    .split('\n')
    .filter((l) => l.startsWith('make-iso:'));

/** The ISO is whole: xorriso reads its tree and make-iso's manifest from it. */
async function expectWholeIso(iso: string): Promise<void> {
  const r = await execa(process.execPath, [MAIN, 'inspect', iso, '--json'], { reject: false });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect((await stat(iso)).size).toBe((await stat(goodIso)).size);
}

/** A directory with a fake `xorriso` that writes 300 kB to the -o file, then fails as told. */
async function fakeXorriso(how: 'exit 1' | 'SIGKILL'): Promise<string> {
  const bin = await mkdtemp(join(root, 'bin-'));
  const real = (await execa('bash', ['-c', 'command -v xorriso'])).stdout.trim();
  const script = [
    '#!/bin/bash',
    'out=""; prev=""',
    'for a in "$@"; do [[ $prev == -o ]] && out=$a; prev=$a; done',
    `[[ -n $out ]] || exec ${real} "$@"`,
    'head -c 300000 /dev/urandom >"$out"',
    'echo "xorriso : FAILURE : fake: the drive went away" >&2',
    how === 'SIGKILL' ? 'kill -KILL $$' : 'exit 1',
  ].join('\n');
  await writeFile(join(bin, 'xorriso'), `${script}\n`);
  await chmod(join(bin, 'xorriso'), 0o755);
  return bin;
}

describe('two builds to one output at once', () => {
  it('without --force: one publishes a whole ISO, the other is refused in one line (exit 2); no temp left', async () => {
    const c = await newCase('race');
    const [a, b] = await Promise.all([build(c), build(c)]);
    const codes = [a.exitCode, b.exitCode].sort();
    expect(codes, `${String(a.stderr)}\n${String(b.stderr)}`).toEqual([0, 2]);
    const loser = a.exitCode === 2 ? a : b;
    expect(makeIsoLines(loser.stderr)).toEqual([
      expect.stringMatching(/^make-iso: .*site\.iso (appeared while building|already exists).*--force/),
    ]);
    expect(loser.stderr).not.toMatch(/^\s+at /m);
    expect(await readdir(c.dir)).toEqual(['site.iso']);
    expect(await readdir(c.tmp)).toEqual([]);
    await expectWholeIso(join(c.dir, 'site.iso'));
  });

  it('with --force: both succeed, the last rename wins, the ISO is whole; no temp left', async () => {
    const c = await newCase('race-force');
    const [a, b] = await Promise.all([build(c, ['--force']), build(c, ['--force'])]);
    expect([a.exitCode, b.exitCode], `${String(a.stderr)}\n${String(b.stderr)}`).toEqual([0, 0]);
    expect(await readdir(c.dir)).toEqual(['site.iso']);
    expect(await readdir(c.tmp)).toEqual([]);
    await expectWholeIso(join(c.dir, 'site.iso'));
  });
});

describe('xorriso fails mid-write', () => {
  for (const how of ['exit 1', 'SIGKILL'] as const) {
    it(`xorriso ${how === 'exit 1' ? 'exits 1' : 'is killed by SIGKILL'} after writing some bytes: one line naming xorriso, exit 1, nothing left`, async () => {
      const c = await newCase(`xorriso-${how.replace(' ', '')}`);
      const bin = await fakeXorriso(how);
      const r = await build(c, [], { PATH: `${bin}:${process.env.PATH ?? ''}` });
      expect(r.exitCode, String(r.stderr)).toBe(1);
      const lines = makeIsoLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        how === 'exit 1'
          ? /^make-iso: writing the ISO: xorriso failed \(exit 1\): .*fake: the drive went away/
          : /^make-iso: writing the ISO: xorriso failed \(killed by SIGKILL\): .*fake: the drive went away/,
      );
      expect(r.stderr).not.toMatch(/^\s+at |internal error/m);
      expect(await readdir(c.dir)).toEqual([]);
      expect(await readdir(c.tmp)).toEqual([]);
    });
  }
});

describe('signals during make-iso write', () => {
  /** 512 MiB of zeros (sparse): written as a raw image, it takes seconds, so a signal lands mid-write. */
  let source = '';
  beforeAll(async () => {
    source = join(root, 'raw-source.img');
    await execa('truncate', ['-s', '512M', source]);
  });

  /** Starts `make-iso write --yes SOURCE TARGET`; resolves once it says it is writing. */
  function startWrite(target: string, extra: string[] = []): { proc: ResultPromise; writing: Promise<void> } {
    const proc = execa(process.execPath, [MAIN, 'write', '--yes', ...extra, source, target], {
      reject: false,
      detached: true,
      env: { NO_COLOR: '1' },
    });
    const writing = new Promise<void>((resolve, reject) => {
      let seen = '';
      proc.stderr?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (/^writing .* to /m.test(seen)) resolve();
      });
      proc.stderr?.on('close', () => reject(new Error(`write ended before it started writing:\n${seen.slice(-2000)}`)));
    });
    return { proc, writing };
  }
  const settle = () => new Promise((r) => setTimeout(r, 300));

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} while writing a new image file: exit ${code}, says interrupted, the unfinished file is removed`, async () => {
      const dir = await mkdtemp(join(root, 'write-'));
      const target = join(dir, 'stick.img');
      const { proc, writing } = startWrite(target);
      await writing;
      await settle();
      process.kill(-proc.pid!, signal);
      const r = await proc;
      expect(r.exitCode, String(r.stderr)).toBe(code);
      expect(makeIsoLines(r.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(`^make-iso: interrupted by ${signal}.*the unfinished image file .*stick\\.img was removed`),
        ),
      ]);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(await readdir(dir)).toEqual([]);
    });
  }

  it.skipIf(!isRoot)(
    'SIGTERM while writing a loop device: exit 143, says the drive holds a partial image, its first MiB is zeroed (needs root)',
    async () => {
      const dir = await mkdtemp(join(root, 'loop-'));
      const file = join(dir, 'disk.img');
      await execa('truncate', ['-s', '768M', file]);
      // a partition table before: the interrupted write must not leave anything that looks bootable
      await execa('bash', ['-c', 'printf "label: gpt\\nsize=64MiB, type=L\\n" | sfdisk -q "$1"', '_', file]);
      const loop = (await execa('losetup', ['-f', '--show', file])).stdout.trim();
      try {
        const { proc, writing } = startWrite(loop, ['--allow-internal-disk']);
        await writing;
        await settle();
        process.kill(-proc.pid!, 'SIGTERM');
        const r = await proc;
        expect(r.exitCode, String(r.stderr)).toBe(143);
        expect(makeIsoLines(r.stderr)).toEqual([
          expect.stringMatching(/^make-iso: interrupted by SIGTERM.*holds a partial image now; write it again/),
        ]);
        const head = await execa('bash', ['-c', 'head -c 1048576 "$1" | tr -d "\\0" | wc -c', '_', loop]);
        expect(head.stdout.trim(), 'the first MiB is zeroed').toBe('0');
      } finally {
        await execa('losetup', ['-d', loop]);
      }
      expect(await readdir(dir)).toEqual(['disk.img']);
    },
  );
});
