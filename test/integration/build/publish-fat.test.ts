// Why: issue 10's bug "publishing with link() fails on vfat/exFAT output directories (EPERM) and
// deletes the finished ISO". This host's kernel has no vfat, so a real FAT filesystem is mounted
// through FUSE (fusefat, Debian's package): link() there fails with EPERM exactly as on a vfat
// USB stick, which is the behaviour publish() depends on.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '../../../src/build/publish.js';

const isRoot = process.getuid?.() === 0;
let work: string;
let mnt: string;

describe.skipIf(!isRoot)('publish onto a FAT filesystem (FUSE; needs root for /dev/fuse)', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'make-iso-fat-'));
    mnt = join(work, 'mnt');
    await mkdir(mnt);
    await execa('truncate', ['-s', '32M', join(work, 'fat.img')]);
    await execa('mkfs.fat', [join(work, 'fat.img')]);
    await execa('fusefat', ['-o', 'rw+', join(work, 'fat.img'), mnt]);
  });
  afterAll(async () => {
    await execa('fusermount', ['-u', mnt], { reject: false });
    await rm(work, { recursive: true, force: true });
  });

  it('the filesystem really has no hard links (else this test proves nothing)', async () => {
    await writeFile(join(mnt, 'probe'), 'x');
    const r = await execa('ln', [join(mnt, 'probe'), join(mnt, 'probe2')], { reject: false });
    expect(r.exitCode).not.toBe(0);
    await rm(join(mnt, 'probe'));
  });

  it('puts the finished file in place and leaves no temp file', async () => {
    const tmp = join(mnt, '.out.iso.1234.tmp');
    await writeFile(tmp, 'iso bytes');
    await publish(tmp, join(mnt, 'out.iso'), false);
    expect(await readFile(join(mnt, 'out.iso'), 'utf8')).toBe('iso bytes');
    expect(existsSync(tmp)).toBe(false);
  });

  it('never replaces an existing output without --force, and keeps it intact', async () => {
    await writeFile(join(mnt, 'taken.iso'), 'theirs');
    const tmp = join(mnt, '.taken.iso.5678.tmp');
    await writeFile(tmp, 'ours');
    await expect(publish(tmp, join(mnt, 'taken.iso'), false)).rejects.toThrow(/appeared while building; use --force/);
    expect(await readFile(join(mnt, 'taken.iso'), 'utf8')).toBe('theirs');
    await rm(tmp);
    expect((await readdir(mnt)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
