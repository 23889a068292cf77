// Why: the bad-input corpus (issue 16) as a user meets it: every generated case runs the built CLI
// and must end with its documented exit code and message, one `make-iso:` line, no stack trace,
// no output file and nothing left in the output directory or in its own $TMPDIR.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/version.js';
import { CASES, fakeKernel, fakeOsImage, release, type GoodInputs } from './corpus.js';

const MAIN = join(projectRoot, 'dist/cli/main.js');
let root: string;
let good: GoodInputs;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  root = await mkdtemp(join(tmpdir(), 'make-iso-corpus-'));
  const inputs = join(root, 'good');
  await mkdir(inputs);
  await writeFile(join(inputs, 'os.raw.gz'), fakeOsImage());
  good = {
    release: await release(inputs, 'bootkit', { 'vmlinuz-1': fakeKernel(), 'initramfs-1.img': Buffer.from('x') }),
    osImage: join(inputs, 'os.raw.gz'),
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

it('has at least 60 cases, with unique names', () => {
  expect(CASES.length).toBeGreaterThanOrEqual(60);
  expect(new Set(CASES.map((c) => `${c.kind}/${c.name}`)).size).toBe(CASES.length);
});

describe.concurrent('bad-input corpus', () => {
  for (const c of CASES) {
    it(`${c.kind}: ${c.name}`, async () => {
      const dir = await mkdtemp(join(root, 'case-'));
      const tmp = await mkdtemp(join(root, 'tmp-'));
      const args = await c.setup(dir, good);
      const before = (await readdir(dir)).sort();
      const r = await execa(process.execPath, [MAIN, ...args], {
        cwd: dir,
        reject: false,
        input: 'secret\n',
        timeout: 90_000,
        env: { NO_COLOR: '1', TMPDIR: tmp, ...c.env },
      });
      const errLines = r.stderr.split('\n').filter(Boolean);
      const said = errLines.filter((l) => l.startsWith('make-iso:'));
      const context = `exit ${r.exitCode}\n${r.stderr}`;
      expect(r.exitCode, context).toBe(c.exit);
      expect(said, context).toHaveLength(1);
      expect(r.stderr, context).toMatch(c.message);
      expect(r.stderr, context).not.toMatch(/^\s+at |internal error/m);
      expect((await readdir(dir)).sort(), 'nothing new in the output directory').toEqual(before);
      expect(await readdir(tmp), 'nothing left in TMPDIR').toEqual([]);
    });
  }
});
