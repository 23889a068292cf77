// Why: the build's reading step: verify and scan the bootkit, hash the OS image, digest the
// installer scripts, the static tree and the user's apps. Returns facts; decides nothing.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readBootkit, type Bootkit } from '../bootkit/release.js';
import { UserError, inContext } from '../errors.js';
import { requirementsError } from '../bootkit/requirements.js';
import { scanBootkitInitramfs, type BootkitInitramfsScan } from '../initramfs/scan.js';
import { sha256File, verifyFile } from '../io/hash.js';
import { checkOsImage } from '../io/os-image-check.js';
import { ISO_PATHS, staticIsoDir, treeFiles } from '../iso/assemble.js';
import type { ProgressSink } from '../progress.js';
import { DEFAULT_MASKED_UNITS, normalizeUnitName, type RootfsChange } from '../rootfs/change.js';
import { projectRoot, version } from '../version.js';
import { readK3sBundle, USER_APPS_ARTIFACTS } from '../k3s/bundle.js';
import { osImageInfo, type BuildFacts, type BuildRequest, type DigestedFile } from './plan.js';

export const installerScriptsDir = join(projectRoot, 'installer-scripts');

/** Files of installer-scripts/ as rootfs entries under /usr/lib/make-iso. */
async function installerFiles(): Promise<RootfsChange['files']> {
  const files = await treeFiles(installerScriptsDir, 'usr/lib/make-iso');
  return Promise.all(
    files.map(async (f) => ({
      path: f.isoPath,
      mode: f.isoPath.endsWith('.sh') ? 0o755 : 0o644,
      content: await readFile(f.hostPath),
    })),
  );
}

/** Every file below dir as ISO files under prefix, with digest and size. */
async function digestTree(dir: string, prefix: string, signal?: AbortSignal): Promise<DigestedFile[]> {
  const files = await treeFiles(dir, prefix);
  return Promise.all(
    files.map(async (f) => ({
      ...f,
      sha256: await sha256File(f.hostPath, undefined, signal),
      size: (await stat(f.hostPath)).size,
    })),
  );
}

async function readAndScanBootkit(
  req: BuildRequest,
  workDir: string,
  progress: ProgressSink,
  signal: AbortSignal,
): Promise<{ bootkit: Bootkit; scan: BootkitInitramfsScan }> {
  const mask = (req.maskedUnits ?? DEFAULT_MASKED_UNITS).map(normalizeUnitName);
  const bootkit = await inContext('reading the bootkit', () => readBootkit(req.bootkit, workDir, req.bootkitSha256));
  progress({
    step: 'read-bootkit',
    kind: 'info',
    message: `bootkit: kernel ${bootkit.kernelVersion}${bootkit.checkedAgainst ? `, checksum ok (${bootkit.checkedAgainst})` : ''}`,
  });
  progress({ step: 'scan', kind: 'start', message: 'scanning the bootkit initramfs and its rootfs' });
  const scan = await inContext('scanning the initramfs', () =>
    scanBootkitInitramfs(bootkit.initramfs, { units: mask, signal }),
  );
  progress({
    step: 'scan',
    kind: 'end',
    message: `initramfs: ${scan.archives.length} archive(s), rootfs.tar.gz with ${scan.rootfs.entries} entries`,
  });
  if (scan.missing.length > 0) throw requirementsError(scan.missing);
  return { bootkit, scan };
}

/** Where the k3s bundle goes on the ISO when the answers name it (not userAppsDir/artifacts). */
export const K3S_BUNDLE_ON_MEDIA = 'k3s-bundle';

/** Checks the k3s air-gap bundle and says where the installer finds it on the media. */
async function readK3s(req: BuildRequest, workDir: string, progress: ProgressSink, signal?: AbortSignal) {
  if (!req.k3s) return undefined;
  progress({ step: 'read-inputs', kind: 'info', message: 'checking the k3s air-gap bundle' });
  const b = await readK3sBundle(req.k3s.bundle, req.userAppsDir, workDir, signal);
  progress({
    step: 'read-inputs',
    kind: 'info',
    message: `k3s bundle ${b.source}: ${b.files.map((f) => f.name).join(', ')} (${b.arch}), checksums ok`,
  });
  const checksums = b.files.map(({ name, sha256 }) => ({ name, sha256 }));
  // from userAppsDir/artifacts the files are on the media already (user-apps/artifacts)
  if (!req.k3s.bundle) return { isoDir: `${ISO_PATHS.userApps}/${USER_APPS_ARTIFACTS}`, checksums, files: [] };
  return {
    isoDir: K3S_BUNDLE_ON_MEDIA,
    checksums,
    files: b.files.map((f) => ({
      isoPath: `${K3S_BUNDLE_ON_MEDIA}/${f.name}`,
      hostPath: f.hostPath,
      sha256: f.sha256,
      size: f.size,
    })),
  };
}

/** The cheap checks of the OS image, before anything slow starts (so their message always wins). */
async function precheckOsImage(req: BuildRequest): Promise<void> {
  const osStat = await stat(req.osImage).catch(() => undefined);
  if (!osStat?.isFile()) throw new UserError(`the OS image ${req.osImage} does not exist or is not a file`);
  if (!/\.raw\.gz$/.test(req.osImage)) throw new UserError(`the OS image ${req.osImage} must be a *.raw.gz file`);
  await checkOsImage(req.osImage);
}

async function hashOsImage(req: BuildRequest, signal: AbortSignal): Promise<BuildFacts['os']> {
  const osStat = await stat(req.osImage);
  const { sha256 } = await verifyFile(req.osImage, 'OS image', req.osImageSha256, undefined, signal);
  return osImageInfo(resolve(req.osImage), sha256, osStat.size);
}

/** Reads, verifies and digests every input of the build. The bootkit goes into workDir. */
export async function readInputs(
  req: BuildRequest,
  workDir: string,
  progress: ProgressSink,
  signal?: AbortSignal,
): Promise<{ facts: BuildFacts; scan: BootkitInitramfsScan }> {
  progress({ step: 'read-inputs', kind: 'start', message: 'reading the bootkit release and checking the OS image' });
  await precheckOsImage(req);
  // The bootkit (read, then scanned) and the OS image (hashed) are independent: on two cores
  // the scan of a release runs while a multi-GB OS image is still being hashed.
  const inputs = new AbortController();
  signal?.addEventListener('abort', () => inputs.abort(), { once: true });
  const [{ bootkit, scan }, os] = await Promise.all([
    readAndScanBootkit(req, workDir, progress, inputs.signal),
    hashOsImage(req, inputs.signal),
  ]).catch((err: unknown) => {
    inputs.abort(); // the first failure stops the other reader: the user hears about it now
    throw err;
  });
  progress({ step: 'read-inputs', kind: 'end', message: `OS image: sha256 ${os.sha256}` });
  const kernelStat = await stat(bootkit.kernel);
  const k3s = await readK3s(req, workDir, progress, signal);
  const [kernelSha256, initramfsSha256, installerScripts, staticFiles, userApps] = await Promise.all([
    bootkit.kernelSha256 ?? sha256File(bootkit.kernel),
    bootkit.initramfsSha256 ?? sha256File(bootkit.initramfs),
    installerFiles(),
    digestTree(staticIsoDir, '', signal),
    req.userAppsDir ? digestTree(resolve(req.userAppsDir), ISO_PATHS.userApps, signal) : [],
  ]);
  const facts: BuildFacts = {
    version,
    bootkit,
    kernel: { sha256: kernelSha256, size: kernelStat.size, mtime: Math.floor(kernelStat.mtimeMs / 1000) },
    initramfsSha256,
    unitsFound: scan.units.filter((u) => u.present).map((u) => u.name),
    initramfs: {
      layout: scan.layout,
      ...(scan.archives.at(-1) ? { lastCompression: scan.archives.at(-1)!.compression } : {}),
    },
    os,
    installerScripts,
    staticFiles,
    userApps,
    ...(k3s ? { k3s } : {}),
  };
  return { facts, scan };
}
