// Why: turns what the user gives (a bootkit release tar.gz, or a kernel and an initramfs)
// into verified kernel + initramfs paths, with clear errors when it is not a bootkit.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { basename, join } from 'node:path';
import { lstat, open, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { BuildCache } from '../build/cache.js';
import { UserError, VerificationError } from '../errors.js';
import { ByteReader } from '../io/byte-reader.js';
import { SHA256_RE, sha256File, siblingSha256 } from '../io/hash.js';
import { removeTemp } from '../io/temps.js';
import { readTar, type TarType } from '../rootfs/tar.js';

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

async function mustBeFile(path: string, what: string): Promise<void> {
  const s = await stat(path).catch(() => undefined);
  if (!s) throw new UserError(`${what} ${path} does not exist`);
  if (!s.isFile()) throw new UserError(`${what} ${path} is not a regular file`);
}

/** A member of the release as one pass over it saw it; `file` and `sha256` when it was unpacked. */
interface ReleaseMember {
  path: string;
  type: TarType;
  size: number;
  file?: string;
  sha256?: string;
}

/** Could this member be the kernel or the initramfs (so worth unpacking while passing)? */
function candidate(path: string): boolean {
  const name = basename(path);
  return !SIDECAR_RE.test(path) && (KERNEL_RE.test(name) || INITRAMFS_RE.test(name));
}

/**
 * Reads the release once: hashes every byte, inflates it (gzip, or a plain tar), lists its
 * members and unpacks (hashing them too) every member that could be the kernel or the initramfs.
 */
export async function unpackRelease(
  archive: string,
  dest: string,
  signal?: AbortSignal,
): Promise<{ sha256: string; members: ReleaseMember[] }> {
  const hash = createHash('sha256');
  const head = Buffer.alloc(2);
  const fh = await open(archive, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const members: ReleaseMember[] = [];
  const consume = async (src: AsyncIterable<Uint8Array>): Promise<void> => {
    const reader = new ByteReader(src);
    for await (const r of readTar(reader)) {
      if (r.kind === 'end') {
        for await (const _ of r.raw()); // the rest (zero blocks) still counts for the digest
        break;
      }
      if (r.kind !== 'entry') continue;
      const m: ReleaseMember = { path: r.path.replace(/^\.\//, ''), type: r.type, size: r.size };
      members.push(m);
      if (r.type !== 'file' || !candidate(m.path)) continue;
      m.file = join(dest, `member-${members.length}`);
      const h = createHash('sha256');
      await pipeline(
        r.data(),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const c of chunks) {
            h.update(c);
            yield c;
          }
        },
        createWriteStream(m.file, { mode: 0o600 }),
      );
      m.sha256 = h.digest('hex');
    }
    while (await reader.nextChunk()); // bytes after the tar: hashed, ignored (as tar does)
  };
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const c of createReadStream(archive, { highWaterMark: 4 << 20 })) {
      hash.update(c as Buffer);
      yield c as Buffer;
    }
  }
  const options = signal ? { signal } : {};
  if (gzip) await pipeline(hashed, createGunzip({ chunkSize: 1 << 20 }), consume, options);
  else await pipeline(hashed, consume, options);
  return { sha256: hash.digest('hex'), members };
}

/** Why a picked member cannot be used as the kernel or the initramfs, if it cannot. */
function memberProblem(m: ReleaseMember, role: 'kernel' | 'initramfs', shown: string): string | undefined {
  if (m.type === 'symlink' || m.type === 'hardlink') {
    return role === 'kernel'
      ? `the kernel ${shown} is a symbolic link, not a kernel; give a release whose vmlinuz-* is a file`
      : `the initramfs ${shown} is a symbolic link; give a release whose initramfs-* is a file`;
  }
  if (m.type !== 'file' || !m.file) {
    return role === 'kernel'
      ? `the kernel ${shown} is not a regular file`
      : `the initramfs ${shown} is not a regular file; give a release whose initramfs-* is a file`;
  }
  if (role === 'initramfs' && m.size === 0) return `the initramfs ${shown} is empty`;
  return undefined;
}

/** The digest the user expects for a file: given, or from a checksum file beside it. */
async function expectedDigest(path: string, what: string, given?: string): Promise<{ want?: string; source?: string }> {
  const want = given?.toLowerCase();
  if (want) {
    if (!SHA256_RE.test(want)) throw new UserError(`the sha256 given for the ${what} is not 64 hex digits`);
    return { want, source: 'the given sha256' };
  }
  const sib = await siblingSha256(path);
  return sib ? { want: sib.sha256, source: sib.source } : {};
}

function checkDigest(path: string, what: string, expected: { want?: string; source?: string }, sha256: string): void {
  if (expected.want && expected.want !== sha256) {
    throw new VerificationError(
      `the ${what} ${path} does not match its checksum (${expected.source}): expected ${expected.want}, got ${sha256}; download it again or fix the checksum`,
      expected.want,
      sha256,
    );
  }
}

/** Unpacks a release in one pass into `dir`; the kernel and initramfs are left there. */
async function unpackBootkit(
  archive: string,
  dir: string,
  expected: { want?: string; source?: string },
  signal?: AbortSignal,
): Promise<{
  sha256: string;
  kernel: ReleaseMember & { file: string; sha256: string };
  initramfs: ReleaseMember & { file: string; sha256: string };
}> {
  let unpacked: Awaited<ReturnType<typeof unpackRelease>>;
  try {
    unpacked = await unpackRelease(archive, dir, signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    // A corrupt download: say so when it fails its checksum, else that it is no tar archive.
    if (expected.want) checkDigest(archive, 'bootkit release', expected, await sha256File(archive, undefined, signal));
    throw new UserError(`${archive} is not a readable tar archive; ${HOW_TO_GIVE}`, { cause: err });
  }
  checkDigest(archive, 'bootkit release', expected, unpacked.sha256);
  const picked = pickBootkitMembers(unpacked.members.map((m) => m.path));
  const byPath = new Map(unpacked.members.map((m) => [m.path, m]));
  const kernel = byPath.get(picked.kernel)!;
  const initramfs = byPath.get(picked.initramfs)!;
  const shown = (p: string) => `${p} in ${basename(archive)}`;
  const problem =
    memberProblem(kernel, 'kernel', shown(picked.kernel)) ??
    memberProblem(initramfs, 'initramfs', shown(picked.initramfs));
  if (problem) throw new UserError(problem);
  await checkKernelImage(kernel.file!, shown(picked.kernel));
  for (const m of unpacked.members) {
    if (m.file && m !== kernel && m !== initramfs) await rm(m.file, { force: true });
  }
  return {
    sha256: unpacked.sha256,
    kernel: kernel as ReleaseMember & { file: string; sha256: string },
    initramfs: initramfs as ReleaseMember & { file: string; sha256: string },
  };
}

/**
 * The kernel and initramfs of what the user gave. A release is read once (hashed, inflated,
 * unpacked in one pass); with a cache, a release read before is not read at all.
 */
export async function readBootkit(
  source: BootkitSource,
  workDir: string,
  expectedSha256?: string,
  opts: { cache?: BuildCache; signal?: AbortSignal } = {},
): Promise<Bootkit> {
  const { cache, signal } = opts;
  if ('archive' in source) {
    const archive = source.archive;
    await mustBeFile(archive, 'the bootkit release');
    const expected = await expectedDigest(archive, 'bootkit release', expectedSha256);
    const common = { sourceName: basename(archive), checkedAgainst: expected.source };
    const known = await cache?.knownSha256(archive);
    if (known) checkDigest(archive, 'bootkit release', expected, known);
    const hit = known ? await cache?.bootkit(known) : undefined;
    if (hit) {
      const { kernelName, initramfsName, kernelVersion, kernelSha256, initramfsSha256, kernel, initramfs } = hit;
      return {
        kernel,
        initramfs,
        kernelName,
        initramfsName,
        kernelVersion,
        kernelSha256,
        initramfsSha256,
        sourceSha256: known!,
        ...common,
      };
    }
    const dir = cache ? await cache.stagingDir() : workDir;
    try {
      const { sha256, kernel, initramfs } = await unpackBootkit(archive, dir, expected, signal);
      const entry = {
        kernelName: basename(kernel.path),
        initramfsName: basename(initramfs.path),
        kernelVersion: kernelVersionFromName(kernel.path),
        kernelSha256: kernel.sha256,
        initramfsSha256: initramfs.sha256,
      };
      if (!cache) return { kernel: kernel.file, initramfs: initramfs.file, ...entry, sourceSha256: sha256, ...common };
      await cache.remember(archive, sha256);
      const stored = await cache.storeBootkit(sha256, dir, { kernel: kernel.file, initramfs: initramfs.file }, entry);
      return { kernel: stored.kernel, initramfs: stored.initramfs, ...entry, sourceSha256: sha256, ...common };
    } finally {
      if (cache) await removeTemp(dir); // gone already when stored
    }
  }
  await mustBeFile(source.kernel, 'the kernel');
  await mustBeFile(source.initramfs, 'the initramfs');
  await checkKernelImage(source.kernel, source.kernel, true);
  const digest = async (path: string, what: string, given?: string) => {
    const expected = await expectedDigest(path, what, given);
    const sha256 = cache ? await cache.sha256(path, signal) : await sha256File(path, undefined, signal);
    checkDigest(path, what, expected, sha256);
    return { sha256, checkedAgainst: expected.source };
  };
  const [k, i] = await Promise.all([
    digest(source.kernel, 'kernel'),
    digest(source.initramfs, 'initramfs', expectedSha256),
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
