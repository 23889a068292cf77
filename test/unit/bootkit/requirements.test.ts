// Why: the build refuses a bootkit that lacks a tool, a library a tool needs, or a kernel module
// of requirements.tsv, naming every missing item with its packages at once. Trees are built
// from this host's real ELF binaries (found through ldd) so the library check meets real files.
import { mkdir, rm, symlink, writeFile, copyFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirementsError } from '../../../src/bootkit/requirements.js';
import { ElfError, parseElf } from '../../../src/elf.js';
import { UserError } from '../../../src/errors.js';
import { scanBootkitInitramfs } from '../../../src/initramfs/scan.js';
import { parseRequirements } from '../../../src/requirements.js';
import { makeTar, sh, tempDir } from '../../helpers/initramfs-fixtures.js';

const KVER = '6.12.8-emt';
const REQS = parseRequirements(
  [
    'kind\tname\twhen\tmodules\trpm\tdeb\tused',
    'tool\tsfdisk\talways\t-\tutil-linux\tfdisk\timage.sh',
    'tool\tmkfs.ext4\talways\t-\te2fsprogs\te2fsprogs\trequirements.sh',
    'tool\tpvcreate\tlvm\t-\tlvm2\tlvm2\tconfigure.sh',
    'tool\teject\toptional\t-\tutil-linux\teject\tmedia.sh',
    'fs\text4\talways\text4\tkernel\tlinux-image-amd64\tconfigure.sh',
    'fs\tiso9660\talways\tisofs\tkernel\tlinux-image-amd64\tmedia.sh',
    'module\tcrc32c\talways\tcrc32c|crc32c_generic\tkernel\tlinux-image-amd64\text4',
    'module\tusb_storage\talways\tusb_storage\tkernel\tlinux-image-amd64\tmedia.sh',
  ].join('\n'),
);

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

/** Copies a host binary and every library ldd names (and the loader) into root, keeping paths. */
async function copyWithLibs(root: string, bin: string, as: string): Promise<void> {
  await mkdir(dirname(join(root, as)), { recursive: true });
  await copyFile(bin, join(root, as));
  const libs = (await sh(`ldd ${bin} | grep -oE '/[^ ]+'`)).split('\n').filter(Boolean);
  for (const lib of libs) {
    const real = (await sh(`readlink -f ${lib}`)).trim();
    await mkdir(dirname(join(root, lib)), { recursive: true });
    await copyFile(real, join(root, lib)).catch(() => undefined);
  }
}

interface TreeOpts {
  dropLib?: string;
  noSfdisk?: boolean;
  noUsbStorage?: boolean;
  hardlinkMkfs?: boolean;
}

/** A usr-merged rootfs with sfdisk, mke2fs (mkfs.ext4 a link), lvm, modules; in an initramfs. */
async function bootkit(name: string, o: TreeOpts = {}): Promise<string> {
  const work = join(dir, name);
  const root = join(work, 'root');
  const ird = join(work, 'ird');
  for (const l of ['bin', 'sbin', 'lib', 'lib64']) {
    await mkdir(join(root, 'usr', l), { recursive: true });
    await symlink(`usr/${l}`, join(root, l));
  }
  // host paths (/lib/x86_64-linux-gnu, /lib64) land in usr/ through the links
  const place = async (bin: string, as: string) => copyWithLibs(root, bin, as);
  if (!o.noSfdisk) await place('/usr/sbin/sfdisk', 'usr/sbin/sfdisk');
  await place('/usr/sbin/mke2fs', 'usr/sbin/mke2fs');
  if (o.hardlinkMkfs) await sh('ln usr/sbin/mke2fs usr/sbin/mkfs.ext4', root);
  else await symlink('/usr/sbin/mke2fs', join(root, 'usr/sbin/mkfs.ext4'));
  await writeFile(join(root, 'usr/sbin/lvm'), '#!/bin/sh\n', { mode: 0o755 });
  await symlink('lvm', join(root, 'usr/sbin/pvcreate'));
  await copyFile('/bin/sh', join(root, 'usr/bin/sh')).catch(async () => writeFile(join(root, 'usr/bin/sh'), ''));
  if (o.dropLib) await sh(`rm -f lib/x86_64-linux-gnu/${o.dropLib}* usr/lib/x86_64-linux-gnu/${o.dropLib}*`, root);
  const mods = join(root, 'usr/lib/modules', KVER);
  await mkdir(join(mods, 'kernel/fs/ext4'), { recursive: true });
  await writeFile(join(mods, 'kernel/fs/ext4/ext4.ko.xz'), 'x');
  await writeFile(join(mods, 'modules.builtin'), 'kernel/crypto/crc32c_generic.ko\nkernel/fs/isofs/isofs.ko\n');
  // usb-storage only in the initramfs (spelled with a dash, as the file is)
  await mkdir(join(ird, 'usr/lib/modules', KVER, 'kernel/drivers/usb/storage'), { recursive: true });
  if (!o.noUsbStorage)
    await writeFile(join(ird, 'usr/lib/modules', KVER, 'kernel/drivers/usb/storage/usb-storage.ko'), 'x');
  await makeTar(root, join(work, 'rootfs.tar'));
  await sh(`gzip -n -1 -c rootfs.tar > ird/rootfs.tar.gz`, work);
  const out = join(work, 'initramfs.img');
  await sh(
    `(cd ird && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > ${JSON.stringify(out)}`,
    work,
  );
  await rm(root, { recursive: true, force: true });
  return out;
}

const missing = async (img: string) =>
  (await scanBootkitInitramfs(img, { requirements: REQS })).missing.map((m) => [m.requirement.name, m.reason]);

describe('the build-time requirements check', () => {
  it('accepts a tree with the tools, their libraries and loader, and the modules (file or builtin)', async () => {
    expect(await missing(await bootkit('complete'))).toEqual([]);
  });

  it('follows hard links to the real binary', async () => {
    expect(await missing(await bootkit('hardlink', { hardlinkMkfs: true }))).toEqual([]);
  });

  it('names a tool whose library is missing, and why', async () => {
    expect(await missing(await bootkit('nolib', { dropLib: 'libfdisk.so' }))).toEqual([
      ['sfdisk', 'needs libfdisk.so.1, which the rootfs lacks'],
    ]);
  });

  it('names every missing tool and module at once, with packages, in one error', async () => {
    const img = await bootkit('several', { noSfdisk: true, noUsbStorage: true });
    const scan = await scanBootkitInitramfs(img, { requirements: REQS });
    expect(scan.missing.map((m) => m.requirement.name)).toEqual(['sfdisk', 'usb_storage']);
    const err = requirementsError(scan.missing);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain('(2): sfdisk (util-linux / fdisk); module usb_storage (kernel / linux-image-amd64);');
    expect(err.message).not.toContain('\n');
  });
});

describe('parseElf', () => {
  it('reads the loader and the needed libraries of a real binary', async () => {
    const info = parseElf(await readFile('/usr/sbin/sfdisk'))!;
    expect(info.bits).toBe(64);
    expect(info.interp).toMatch(/ld-linux[^/]*\.so\.\d$/);
    expect(info.needed).toEqual(expect.arrayContaining(['libfdisk.so.1', 'libc.so.6']));
  });

  it('reads a library soname, says null for non-ELF and refuses a truncated file', async () => {
    const libc = (await sh(`ldd /usr/sbin/sfdisk | grep -oE '/[^ ]*libc\\.so\\.6'`)).trim();
    expect(parseElf(await readFile(libc))!.soname).toBe('libc.so.6');
    expect(parseElf(Buffer.from('#!/bin/sh\n'))).toBeNull();
    const head = (await readFile('/usr/sbin/sfdisk')).subarray(0, 100);
    expect(() => parseElf(head)).toThrow(ElfError);
  });
});
