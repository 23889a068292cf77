// Why: small, real archives built with the system's GNU cpio/tar/gzip/zstd/xz, so the
// initramfs and rootfs tests check our byte plumbing against the reference tools.
import { mkdtemp, rm, writeFile, mkdir, symlink, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export async function tempDir(prefix = 'make-iso-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs a bash snippet; fails the test with its stderr. */
export async function sh(script: string, cwd?: string): Promise<string> {
  const r = await execa('bash', ['-euo', 'pipefail', '-c', script], { cwd, reject: false });
  if (r.exitCode !== 0) throw new Error(`bash failed (${r.exitCode}): ${script}\n${r.stderr}`);
  return r.stdout;
}

export async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

async function put(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content, { mode });
}

export const UNITS = ['tink-worker.service', 'caddy.service', 'fluent-bit.service'];
export const KVER = '6.12.8-emt';

/**
 * A tiny bootkit-like root: usr-merge links, provisioning units enabled for
 * multi-user.target, some installer tools (not ifconfig), kernel modules dir, plus the
 * awkward tar cases: a long name, a hard link, a symlink, a fifo, a device node.
 */
export async function makeRootTree(root: string, opts: { withIfconfig?: boolean } = {}): Promise<void> {
  for (const d of [
    'usr/bin',
    'usr/sbin',
    'usr/lib/systemd/system',
    'etc/systemd/system/multi-user.target.wants',
    'dev',
  ]) {
    await mkdir(join(root, d), { recursive: true });
  }
  await symlink('usr/bin', join(root, 'bin'));
  await symlink('usr/sbin', join(root, 'sbin'));
  await symlink('usr/lib', join(root, 'lib'));
  for (const u of UNITS) {
    await put(join(root, 'usr/lib/systemd/system', u), `[Service]\nExecStart=/usr/bin/${u}\n`);
    await symlink(`/usr/lib/systemd/system/${u}`, join(root, 'etc/systemd/system/multi-user.target.wants', u));
  }
  await put(join(root, 'usr/lib/systemd/system/sshd.service'), '[Service]\n');
  await symlink(
    '/usr/lib/systemd/system/sshd.service',
    join(root, 'etc/systemd/system/multi-user.target.wants/sshd.service'),
  );
  for (const t of ['usr/sbin/efibootmgr', 'usr/bin/gawk', 'usr/sbin/lvm', 'usr/sbin/parted']) {
    await put(join(root, t), '#!/bin/sh\n', 0o755);
  }
  if (opts.withIfconfig) await put(join(root, 'usr/sbin/ifconfig'), '#!/bin/sh\n', 0o755);
  await symlink('gawk', join(root, 'usr/bin/awk'));
  await put(join(root, 'usr/lib/modules', KVER, 'modules.dep'), '');
  const long = `usr/share/${'a-very-long-directory-name/'.repeat(5)}${'file-with-a-long-name-'.repeat(4)}.txt`;
  await put(join(root, long), 'long\n');
  await put(join(root, 'etc/os-release'), 'ID=emt\n');
  await sh(`ln etc/os-release usr/lib/os-release && mkfifo dev/initctl && mknod dev/null c 1 3`, root);
  await sh(`head -c 300000 /dev/urandom > usr/lib/blob.bin`, root);
}

/** GNU tar of a tree ("./" names, numeric root owner, sorted, fixed mtime). */
export async function makeTar(root: string, out: string, format: 'pax' | 'gnu' | 'ustar' = 'pax'): Promise<void> {
  await sh(
    `tar --format=${format} --sort=name --numeric-owner --owner=0 --group=0 --mtime=@1700000000 -C ${JSON.stringify(root)} -cf ${JSON.stringify(out)} .`,
  );
}

export type Comp = 'gzip' | 'zstd' | 'xz' | 'none' | 'lz4';

/**
 * classic: usr/lib/dracut/hooks (dracut 059); dracut-ng: dracut-lib.sh sets hookdir to
 * var/lib/dracut/hooks and usr/lib/dracut/hooks is a real directory too (newer dracut-ng);
 * dracut-ng-symlink: as Debian trixie's dracut 106 (and the EMT case that broke): hookdir
 * /lib/dracut/hooks, usr/lib/dracut/hooks -> ../../../var/lib/dracut/hooks; none: no hooks dir.
 */
export type DracutTestLayout = 'classic' | 'dracut-ng' | 'dracut-ng-symlink' | 'none';
export const DRACUT_TEST_LAYOUTS: readonly DracutTestLayout[] = ['classic', 'dracut-ng', 'dracut-ng-symlink', 'none'];

export function compressCmd(c: Comp): string {
  return { gzip: 'gzip -n -9', zstd: 'zstd -q -c -3', xz: 'xz -c --check=crc32', none: 'cat', lz4: 'lz4 -l -c' }[c];
}

/**
 * A dracut-like initramfs: rootfs.tar.gz at the root, etc/cmdline.d, a modules dir, the
 * pre-pivot hook dir, lib -> usr/lib; optionally an uncompressed microcode cpio first.
 */
export async function makeInitramfs(
  work: string,
  out: string,
  opts: {
    compression?: Comp;
    microcode?: boolean;
    rootfs?: boolean;
    withIfconfig?: boolean;
    usrMerged?: boolean;
    /** Where dracut keeps hooks (default classic); see DRACUT_TEST_LAYOUTS. */
    dracut?: DracutTestLayout;
  } = {},
): Promise<void> {
  const c = opts.compression ?? 'gzip';
  const root = join(work, 'rootfs-tree');
  const ird = join(work, 'initrd-tree');
  await makeRootTree(root, { withIfconfig: opts.withIfconfig ?? true });
  await mkdir(join(ird, 'etc/cmdline.d'), { recursive: true });
  const layout = opts.dracut ?? 'classic';
  if (opts.usrMerged === false) {
    await mkdir(join(ird, 'lib/dracut/hooks/pre-pivot'), { recursive: true });
    await mkdir(join(ird, 'usr/lib'), { recursive: true });
  } else {
    await mkdir(join(ird, 'usr/lib'), { recursive: true });
    await symlink('usr/lib', join(ird, 'lib'));
  }
  if (layout === 'classic' && opts.usrMerged !== false) {
    await mkdir(join(ird, 'usr/lib/dracut/hooks/pre-pivot'), { recursive: true });
  }
  if (layout === 'dracut-ng' || layout === 'dracut-ng-symlink') {
    // dracut-ng: hooks in var/lib/dracut/hooks; the vendor's mount hook fills the root.
    for (const stage of ['pre-pivot', 'mount'])
      await mkdir(join(ird, 'var/lib/dracut/hooks', stage), { recursive: true });
    await writeFile(join(ird, 'var/lib/dracut/hooks/mount/10-mount-tmpfsroot.sh'), '# vendor\n');
    // trixie's dracut 106 sets hookdir=/lib/dracut/hooks and reaches var/lib through the links.
    const hookdir =
      layout === 'dracut-ng' ? '[ -z "$hookdir" ] && hookdir=/var/lib/dracut/hooks' : 'hookdir=/lib/dracut/hooks';
    await writeFile(join(ird, 'usr/lib/dracut-lib.sh'), `${hookdir}\nexport hookdir\n`);
    if (layout === 'dracut-ng') await mkdir(join(ird, 'usr/lib/dracut/hooks/pre-pivot'), { recursive: true });
    else {
      await mkdir(join(ird, 'usr/lib/dracut'), { recursive: true });
      await symlink('../../../var/lib/dracut/hooks', join(ird, 'usr/lib/dracut/hooks'));
    }
  }
  await mkdir(join(ird, `usr/lib/modules/${KVER}`), { recursive: true });
  await writeFile(join(ird, 'etc/cmdline.d/95root-dev.conf'), 'root=tmpfs rootflags=size=1G,mode=0755\n');
  await writeFile(join(ird, 'init'), '#!/bin/sh\n', { mode: 0o755 });
  if (opts.rootfs !== false) {
    await makeTar(root, join(work, 'rootfs.tar'));
    await sh(`gzip -n -6 -c rootfs.tar > ${JSON.stringify(join(ird, 'rootfs.tar.gz'))}`, work);
  }
  const q = JSON.stringify(out);
  let pre = '';
  if (opts.microcode) {
    const mc = join(work, 'early');
    await mkdir(join(mc, 'kernel/x86/microcode'), { recursive: true });
    await writeFile(join(mc, 'kernel/x86/microcode/GenuineIntel.bin'), Buffer.alloc(1000, 7));
    pre = `(cd ${JSON.stringify(mc)} && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) > ${q}; `;
  }
  await sh(
    `${pre}(cd ${JSON.stringify(ird)} && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | ${compressCmd(c)}) >> ${q}`,
  );
}

/** Lists a (single, maybe compressed) cpio archive with GNU cpio. */
export async function cpioList(file: string, c: Comp = 'gzip'): Promise<string[]> {
  const dec = { gzip: 'gzip -dc', zstd: 'zstd -dc', xz: 'xz -dc', none: 'cat', lz4: 'lz4 -dc' }[c];
  return (await sh(`${dec} < ${JSON.stringify(file)} | cpio -t --quiet`)).split('\n').filter(Boolean);
}

/** Builds a test initramfs in `<dir>/<name>/initramfs.img` (see makeInitramfs for opts). */
export async function buildInitramfsIn(
  dir: string,
  name: string,
  opts: Parameters<typeof makeInitramfs>[2],
): Promise<string> {
  const work = join(dir, name);
  await mkdir(work, { recursive: true });
  const out = join(work, 'initramfs.img');
  await makeInitramfs(work, out, opts);
  return out;
}
