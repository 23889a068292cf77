// Why: a `kubernetes` node installs k3s air-gapped from a bundle on the media. The build checks
// the bundle before anything is written (present, each file's sha256, the binary's architecture),
// so a node never finds out at first boot that its cluster cannot start.
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { elfArchitecture } from '../elf.js';
import { UserError, VerificationError } from '../errors.js';
import { run } from '../exec.js';
import { sha256File, SHA256_RE } from '../io/hash.js';

/** The architecture of the node: EMT (and the bootkit) are x86_64. */
export const NODE_ARCH = 'amd64';
export const K3S_BINARY = 'k3s';
export const K3S_INSTALL_SCRIPT = 'install.sh';
export const K3S_IMAGES_RE = /^k3s-airgap-images-([a-z0-9]+)\.tar(\.gz|\.zst)?$/;
/** The directory of userAppsDir the bundle is taken from when the answers name none (upstream's layout). */
export const USER_APPS_ARTIFACTS = 'artifacts';

export interface K3sBundleFile {
  name: string;
  hostPath: string;
  sha256: string;
  size: number;
}

export interface K3sBundle {
  /** Directory holding the bundle's files (the answers' directory, or where the tar was unpacked). */
  dir: string;
  /** What the answers named (a directory or a tar), for messages. */
  source: string;
  /** The three files the node needs: k3s, install.sh and the images tarball, checked. */
  files: K3sBundleFile[];
  arch: string;
}

const exists = (p: string) =>
  stat(p).then(
    (s) => s,
    () => undefined,
  );

/** Checksums the bundle carries: `sha256sum*.txt` lists and `<file>.sha256`/`.sha256sum` files. */
async function bundleChecksums(dir: string, names: readonly string[]): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (const n of names) {
    const list = /^sha256sums?.*\.txt$/i.test(n) || n === 'SHA256SUMS';
    const side = /^(.+)\.sha256(sum)?$/.exec(n);
    if (!list && !side) continue;
    const text = await readFile(join(dir, n), 'utf8');
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const m = /^([0-9a-fA-F]{64})(?:\s+\*?(.+))?$/.exec(line);
      if (!m) continue;
      const name = m[2] ? basename(m[2].trim()) : side?.[1];
      if (name) sums.set(name, m[1]!.toLowerCase());
    }
  }
  return sums;
}

async function readHead(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Unpacks a bundle tar into workDir/k3s-bundle; the bundle is the tar's only top-level directory, or its root. */
async function unpack(tar: string, workDir: string): Promise<string> {
  const dest = join(workDir, 'k3s-bundle');
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  await run('tar', ['-xf', tar, '-C', dest, '--no-same-owner', '--no-same-permissions']);
  const top = await readdir(dest, { withFileTypes: true });
  if (top.length === 1 && top[0]!.isDirectory()) return join(dest, top[0]!.name);
  return dest;
}

/**
 * Finds and checks the k3s air-gap bundle: `source` (a directory or a tar) or, when unset,
 * userAppsDir/artifacts. Throws a UserError naming what is missing, a VerificationError for a
 * checksum that differs.
 */
export async function readK3sBundle(
  source: string | undefined,
  userAppsDir: string | undefined,
  workDir: string,
  signal?: AbortSignal,
): Promise<K3sBundle> {
  const from = source ?? (userAppsDir ? join(userAppsDir, USER_APPS_ARTIFACTS) : undefined);
  const help =
    'set kubernetes.bundle to a directory or tar with k3s, k3s-airgap-images-amd64.tar.zst and install.sh and their sha256 (sha256sum-amd64.txt), or put them in userAppsDir/artifacts/';
  if (!from) throw new UserError(`hostType kubernetes needs a k3s air-gap bundle: ${help}`);
  const s = await exists(from);
  if (!s) {
    throw new UserError(
      source
        ? `kubernetes.bundle: ${from} does not exist`
        : `hostType kubernetes: no k3s bundle (${from} does not exist); ${help}`,
    );
  }
  let dir = from;
  if (s.isFile()) {
    if (!/\.(tar|tar\.gz|tgz|tar\.zst)$/.test(from)) {
      throw new UserError(`kubernetes.bundle: ${from} is neither a directory nor a .tar/.tar.gz/.tgz/.tar.zst file`);
    }
    dir = await unpack(from, workDir);
  } else if (!s.isDirectory()) {
    throw new UserError(`kubernetes.bundle: ${from} is neither a directory nor a tar file`);
  }
  const names = (await readdir(dir)).sort();
  const images = names.filter((n) => K3S_IMAGES_RE.test(n));
  const missing: string[] = [];
  if (!names.includes(K3S_BINARY)) missing.push('the k3s binary (k3s)');
  if (images.length === 0) missing.push('the air-gap images tarball (k3s-airgap-images-<arch>.tar[.gz|.zst])');
  if (!names.includes(K3S_INSTALL_SCRIPT)) missing.push('the install script (install.sh)');
  if (images.length > 1) missing.push(`exactly one images tarball (found ${images.join(', ')})`);
  if (missing.length > 0) throw new UserError(`k3s bundle ${from} lacks ${missing.join(', ')}`);
  const wanted = [K3S_BINARY, K3S_INSTALL_SCRIPT, images[0]!];
  const sums = await bundleChecksums(dir, names);
  const noSum = wanted.filter((n) => !sums.has(n));
  if (noSum.length > 0) {
    throw new UserError(
      `k3s bundle ${from} has no sha256 for ${noSum.join(', ')}: add them to a sha256sum-<arch>.txt list (\`sha256sum k3s install.sh k3s-airgap-images-*\`) or as <file>.sha256`,
    );
  }
  const files: K3sBundleFile[] = [];
  for (const name of wanted) {
    const hostPath = join(dir, name);
    const st = await stat(hostPath);
    if (!st.isFile()) throw new UserError(`k3s bundle ${from}: ${name} is not a file`);
    const sha256 = await sha256File(hostPath, undefined, signal);
    const expected = sums.get(name)!;
    if (!SHA256_RE.test(expected) || sha256 !== expected) {
      throw new VerificationError(
        `k3s bundle ${from}: ${name} has sha256 ${sha256}, but the bundle's checksum says ${expected}`,
        expected,
        sha256,
      );
    }
    files.push({ name, hostPath, sha256, size: st.size });
  }
  const arch = elfArchitecture(await readHead(join(dir, K3S_BINARY), 64));
  if (arch === null) throw new UserError(`k3s bundle ${from}: k3s is not an ELF executable`);
  const imagesArch = K3S_IMAGES_RE.exec(images[0]!)![1]!;
  if (arch !== NODE_ARCH || imagesArch !== NODE_ARCH) {
    throw new UserError(
      `k3s bundle ${from} is for ${arch} (binary) / ${imagesArch} (images); the node is ${NODE_ARCH} (x86_64)`,
    );
  }
  return { dir, source: from, files, arch };
}

/** True when the answers give a k3s bundle: kubernetes.bundle, or an `artifacts/` directory in userAppsDir. */
export async function hasK3sBundle(a: {
  kubernetes: { bundle?: string | undefined };
  userAppsDir?: string | undefined;
}): Promise<boolean> {
  if (a.kubernetes.bundle) return true;
  if (!a.userAppsDir) return false;
  return (await exists(join(a.userAppsDir, USER_APPS_ARTIFACTS)))?.isDirectory() ?? false;
}
