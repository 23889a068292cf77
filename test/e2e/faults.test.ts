// Why: faults a user meets mid-build (issue 16): Ctrl-C, SIGTERM and SIGHUP at three points, a
// closed output pipe, a full disk and a read-only directory. Each must say what happened in one
// line, exit with the documented code, kill xorriso and leave nothing in the output dir or TMPDIR.
// Part of the e2e project: its global setup builds (or finds cached) the Debian fixtures it uses.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/version.js';
import type { Fixtures } from '../helpers/fixtures.js';

const MAIN = join(projectRoot, 'dist/cli/main.js');
let fx: Fixtures | undefined;
let root: string;
const isRoot = process.getuid?.() === 0;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  fx = inject('fixtures');
  root = await mkdtemp(join(tmpdir(), 'make-iso-faults-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Case {
  dir: string;
  tmp: string;
  cache: string;
}

async function newCase(outDir?: string): Promise<Case> {
  const dir = outDir ?? (await mkdtemp(join(root, 'case-')));
  const tmp = await mkdtemp(join(root, 'tmp-'));
  const cache = await mkdtemp(join(root, 'cache-'));
  if (!fx) throw new Error('no fixtures');
  const answers = [
    `bootkit: { archive: '${fx.builds['full-gzip'].tarball}' }`,
    `osImage: { path: '${fx.osImage}' }`,
    `output: { path: '${join(dir, 'site.iso')}', sourceDateEpoch: 1700000000 }`,
    "user: { name: edge, sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk0bQ0b7yWzV4c6t8l0gq0oK2pTtW9V7nZk6Xv2c1Qd faults@test'] }",
  ].join('\n');
  await writeFile(join(tmp, '..', `${dir.split('/').pop()}.yaml`), answers, { mode: 0o600 });
  return { dir, tmp, cache };
}

function start(c: Case, extra: string[] = []): ResultPromise {
  return execa(
    process.execPath,
    [MAIN, '--answers', join(c.dir, '..', `${c.dir.split('/').pop()}.yaml`), '--json', ...extra],
    {
      reject: false,
      detached: true, // its own process group, as a terminal's foreground job
      // a fresh build cache per case: the bootkit is really read and scanned (a cached one is not)
      env: { NO_COLOR: '1', TMPDIR: c.tmp, MAKE_ISO_CACHE: c.cache },
      buffer: true,
    },
  );
}

/**
 * Resolves when the build's --json output shows an event of this step; rejects, with what it
 * printed, when the build ends first (a build that fails early must fail the test, not hang it).
 */
function reached(proc: ResultPromise, step: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    proc.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(`"step":"${step}"`)) resolve();
    });
    proc.stdout?.on('close', () => reject(new Error(`the build ended before step ${step}:\n${seen.slice(-2000)}`)));
  });
}

async function expectNothingLeft(c: Case): Promise<void> {
  expect(await readdir(c.dir), 'nothing in the output directory').toEqual([]);
  expect(await readdir(c.tmp), 'nothing in TMPDIR').toEqual([]);
  const bootkits = await readdir(join(c.cache, 'build', 'bootkits')).catch(() => []);
  expect(
    bootkits.filter((n) => n.startsWith('.')),
    'no half-unpacked bootkit in the cache',
  ).toEqual([]);
  const xorriso = await execa('pgrep', ['-f', `xorriso.*${c.dir}`], { reject: false });
  expect(xorriso.stdout, 'no xorriso outlives make-iso').toBe('');
}

const SIGNALS = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const;
const POINTS = [
  ['while starting', undefined],
  ['while scanning the bootkit', 'scan'],
  ['while xorriso writes', 'write-iso'],
] as const;

describe('faults', () => {
  for (const [signal, code] of SIGNALS) {
    for (const [point, step] of POINTS) {
      it(`${signal} ${point}: one line, exit ${code}, --json error event, nothing left`, async () => {
        const c = await newCase();
        const proc = start(c);
        if (step) await reached(proc, step);
        else await new Promise((r) => setTimeout(r, 300));
        process.kill(-proc.pid!, signal); // the whole process group, as a terminal does
        const r = await proc;
        expect(r.exitCode, String(r.stderr)).toBe(code);
        expect(
          String(r.stderr)
            .split('\n')
            .filter((l) => l.startsWith('make-iso:')),
        ).toEqual([expect.stringMatching(new RegExp(`^make-iso: interrupted by ${signal}`))]);
        const last = JSON.parse(String(r.stdout).trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
        expect(last).toMatchObject({ type: 'error', code: 'E_INTERRUPTED', exitCode: code });
        await expectNothingLeft(c);
      });
    }
  }

  it('a closed output pipe (| head -1) exits 141 quietly and leaves nothing', async () => {
    const c = await newCase();
    const proc = start(c);
    await reached(proc, 'read-inputs');
    proc.stdout?.destroy();
    const r = await proc;
    expect(r.exitCode).toBe(141);
    expect(r.stderr).not.toMatch(/make-iso:|^\s+at /m);
    await expectNothingLeft(c);
  });

  it.skipIf(!isRoot)('a full disk (10 MiB tmpfs) is exit 5 with a hint; nothing left (needs root)', async () => {
    const mnt = await mkdtemp(join(root, 'small-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=10m', 'tmpfs', mnt]);
    try {
      const c = await newCase(mnt);
      const r = await start(c);
      expect(r.exitCode, String(r.stderr)).toBe(5);
      expect(r.stderr).toMatch(/^make-iso: no space left on device.*free some space/m);
      expect(r.stderr).not.toMatch(/^\s+at |internal error/m);
      await expectNothingLeft(c);
    } finally {
      await execa('umount', [mnt]);
    }
  });

  it.skipIf(!isRoot)('a read-only output directory is refused in one line; nothing left (needs root)', async () => {
    const mnt = await mkdtemp(join(root, 'ro-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mnt]);
    try {
      const c = await newCase(mnt);
      const r = await start(c);
      expect([2, 5], String(r.stderr)).toContain(r.exitCode);
      expect(r.stderr).toMatch(/^make-iso: .*(read-only|not writable)/m);
      expect(r.stderr).not.toMatch(/^\s+at |internal error/m);
      await expectNothingLeft(c);
    } finally {
      await execa('umount', [mnt]);
    }
  });
});
