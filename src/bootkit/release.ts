// Why: turns what the user gives (a bootkit release tar.gz, or a kernel and an initramfs)
// into verified kernel + initramfs paths, with clear errors when it is not a bootkit.
import { basename, join } from 'node:path';
import { lstat, open, stat } from 'node:fs/promises';
import { UserError, inContext } from '../errors.js';
import { run } from '../exec.js';
import { verifyFile } from '../io/hash.js';

export type BootkitSource = { archive: string } | { kernel: string; initramfs: string };

export interface Bootkit {
  kernel: string;
  initramfs: string;
  kernelName: string;
  initramfsName: string;
  kernelVersion: string;
  /** What the user gave: the release archive name, or the two file names. */
  sourceName: string;
  /** sha256 of the release archive, or of kernel+initramfs joined as `k:i`. */
  sourceSha256: string;
  kernelSha256?: string;
  initramfsSha256?: string;
  checkedAgainst?: string;
}

const KERNEL_RE = /^(?:vmlinuz|bzImage)(?:-(.+))?$/;
/** initramfs-<kver>.img, initrd.img-<kver>, initramfs.img, initrd, initramfs_x.cpio.zst, ... */
const INITRAMFS_RE = /^(?:initramfs|initrd)(?:[-._].*)?$/;
const INITRAMFS_VERSION_RE = /^(?:initramfs|initrd)(?:\.img)?-(.+?)(?:\.img)?$/;
/** Files releases carry beside the payload: signatures, certificates and checksums. */
const SIDECAR_RE = /\.(?:sig|asc|p7s|pem|crt|sha1|sha256|sha512|md5|sha1sum|sha256sum|sha512sum|md5sum|sums?)$/i;
const HOW_TO_GIVE =
  'give the release tar.gz (answers key bootkit.archive), or the two files (bootkit.kernel and bootkit.initramfs)';

/** Picks the kernel and initramfs among an archive's member paths (pure). */
export function pickBootkitMembers(members: string[]): { kernel: string; initramfs: string } {
  const files = members.filter((m) => !m.endsWith('/') && !SIDECAR_RE.test(m));
  const kernels = files.filter((m) => KERNEL_RE.test(basename(m)));
  const initrds = files.filter((m) => INITRAMFS_RE.test(basename(m)));
  if (kernels.length === 0 || initrds.length === 0) {
    const missing = [
      kernels.length === 0 ? 'no kernel (vmlinuz-*)' : '',
      initrds.length === 0 ? 'no initramfs (initramfs-*, initrd*)' : '',
    ]
      .filter(Boolean)
      .join(' and ');
    throw new UserError(`not a bootkit release: it holds ${missing}; ${HOW_TO_GIVE}`);
  }
  if (kernels.length > 1 || initrds.length > 1) {
    throw new UserError(
      `the release holds several kernels or initramfs images (${[...kernels, ...initrds].join(', ')}); give the two files in the answers instead (bootkit.kernel and bootkit.initramfs)`,
    );
  }
  return { kernel: kernels[0]!, initramfs: initrds[0]! };
}

export function kernelVersionFromName(name: string): string {
  return KERNEL_RE.exec(basename(name))?.[1] ?? INITRAMFS_VERSION_RE.exec(basename(name))?.[1] ?? 'unknown';
}

/** A Linux x86 boot image carries "HdrS" at 0x202 (the boot protocol header). */
export async function checkKernelImage(path: string, shown: string, followLinks = false): Promise<void> {
  const l = followLinks ? await stat(path) : await lstat(path);
  if (l.isSymbolicLink()) {
    throw new UserError(
      `the kernel ${shown} is a symbolic link, not a kernel; give a release whose vmlinuz-* is a file`,
    );
  }
  if (!l.isFile()) throw new UserError(`the kernel ${shown} is not a regular file`);
  const fh = await open(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await fh.read(magic, 0, 4, 0x202);
    if (bytesRead < 4 || magic.toString('latin1') !== 'HdrS') {
      throw new UserError(`the kernel ${shown} is not a Linux bzImage (no "HdrS" boot header at 0x202)`);
    }
  } finally {
    await fh.close();
  }
}

/** The initramfs must be a regular file inside the release, not a link to something else. */
async function checkInitramfsMember(path: string, shown: string): Promise<void> {
  const l = await lstat(path);
  if (!l.isFile())
    throw new UserError(
      `the initramfs ${shown} is ${l.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; give a release whose initramfs-* is a file`,
    );
  if (l.size === 0) throw new UserError(`the initramfs ${shown} is empty`);
}

async function mustBeFile(path: string, what: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (!s) throw new UserError(`${what} ${path} does not exist`);
  if (!s.isFile()) throw new UserError(`${what} ${path} is not a regular file`);
}

export async function readBootkit(source: BootkitSource, workDir: string, expectedSha256?: string): Promise<Bootkit> {
  if ('archive' in source) {
    const archive = source.archive;
    await mustBeFile(archive, 'the bootkit release');
    const { sha256, checkedAgainst } = await verifyFile(archive, 'bootkit release', expectedSha256);
    const listing = await inContext(`listing ${archive}`, () => run('tar', ['-tf', archive])).catch((err: unknown) => {
      throw new UserError(`${archive} is not a readable tar archive; ${HOW_TO_GIVE}`, {
        cause: err,
      });
    });
    const picked = pickBootkitMembers(listing.split('\n').filter(Boolean));
    await inContext(`extracting ${archive}`, () =>
      run('tar', ['-xf', archive, '-C', workDir, '--no-same-owner', '--', picked.kernel, picked.initramfs]),
    );
    await checkKernelImage(join(workDir, picked.kernel), `${picked.kernel} in ${basename(archive)}`);
    await checkInitramfsMember(join(workDir, picked.initramfs), `${picked.initramfs} in ${basename(archive)}`);
    return {
      kernel: join(workDir, picked.kernel),
      initramfs: join(workDir, picked.initramfs),
      kernelName: basename(picked.kernel),
      initramfsName: basename(picked.initramfs),
      kernelVersion: kernelVersionFromName(picked.kernel),
      sourceName: basename(archive),
      sourceSha256: sha256,
      checkedAgainst,
    };
  }
  await mustBeFile(source.kernel, 'the kernel');
  await mustBeFile(source.initramfs, 'the initramfs');
  await checkKernelImage(source.kernel, source.kernel, true);
  const [k, i] = await Promise.all([
    verifyFile(source.kernel, 'kernel'),
    verifyFile(source.initramfs, 'initramfs', expectedSha256),
  ]);
  return {
    kernel: source.kernel,
    initramfs: source.initramfs,
    kernelName: basename(source.kernel),
    initramfsName: basename(source.initramfs),
    kernelVersion: kernelVersionFromName(source.kernel),
    sourceName: `${basename(source.kernel)} + ${basename(source.initramfs)}`,
    sourceSha256: `${k.sha256}:${i.sha256}`,
    kernelSha256: k.sha256,
    initramfsSha256: i.sha256,
    checkedAgainst: i.checkedAgainst,
  };
}
