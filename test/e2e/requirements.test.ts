// Why: the build must refuse a bootkit its own installer would refuse on the node. The Debian
// fixture repacked without sfdisk (nothing else changed) is refused by the CLI in one line that
// names sfdisk and its packages, with exit code 2, no stack and nothing left behind.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/version.js';
import { TEST_PASSWORD_HASH } from '../helpers/iso.js';

const fx = inject('fixtures');
const MAIN = join(projectRoot, 'dist/cli/main.js');
let dir: string;

const sh = (script: string, cwd: string) => execa('bash', ['-euo', 'pipefail', '-c', script], { cwd });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-req-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The full-gzip fixture's initramfs with usr/sbin/sfdisk deleted from its rootfs.tar.gz. */
async function withoutSfdisk(): Promise<string> {
  const work = join(dir, 'repack');
  await mkdir(join(work, 'tree'), { recursive: true });
  const src = fx.builds['full-gzip'].initramfs;
  await sh(
    [
      `gzip -dc ${JSON.stringify(src)} > ird.cpio`,
      '(cd tree && cpio -id --quiet --no-absolute-filenames < ../ird.cpio) && rm ird.cpio',
      'gzip -dc tree/rootfs.tar.gz > rootfs.tar',
      'tar -tf rootfs.tar > list && grep -qx ./usr/sbin/sfdisk list',
      'tar --delete -f rootfs.tar ./usr/sbin/sfdisk',
      'gzip -1 -n -c rootfs.tar > tree/rootfs.tar.gz && rm rootfs.tar',
      '(cd tree && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 -n) > initramfs-nosfdisk.img',
      'rm -rf tree',
    ].join('\n'),
    work,
  );
  return join(work, 'initramfs-nosfdisk.img');
}

it('refuses the fixture without sfdisk, naming it and util-linux / fdisk, and leaves no output', async () => {
  const initramfs = await withoutSfdisk();
  const out = join(dir, 'out');
  await mkdir(out);
  const answers = {
    bootkit: { kernel: fx.builds['full-gzip'].kernel, initramfs },
    osImage: { path: fx.osImage },
    output: { path: join(out, 'site.iso'), sourceDateEpoch: 1_700_000_000 },
    user: { name: 'ops', passwordHash: TEST_PASSWORD_HASH },
  };
  await writeFile(join(out, 'a.json'), JSON.stringify(answers), { mode: 0o600 });
  const r = await execa(process.execPath, [MAIN, '--answers', 'a.json'], {
    cwd: out,
    reject: false,
    env: { NO_COLOR: '1' },
  });
  expect(r.exitCode).toBe(2);
  const errors = r.stderr.split('\n').filter((l) => /lacks what the installer needs/.test(l));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(
    /\(1\): sfdisk \(util-linux \/ fdisk\); give their packages with --packages .*, or use a bootkit release that includes them/,
  );
  expect(r.stderr).not.toMatch(/\s+at .*:\d+:\d+/);
  expect(await readdir(out)).toEqual(['a.json']);
});
