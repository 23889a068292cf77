// Why: the build's reading step: verify and scan the bootkit, hash the OS image, digest the
// installer scripts, the static tree and the user's apps. Returns facts; decides nothing.
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readBootkit, type Bootkit } from '../bootkit/release.js';
import { UserError, inContext } from '../errors.js';
import { requirementsError } from '../bootkit/requirements.js';
import { scanBootkitInitramfs, type BootkitInitramfsScan } from '../initramfs/scan.js';
import { sha256File, siblingSha256, verifyFile } from '../io/hash.js';
import { imageProblems } from '../image-needs.js';
import { probeOsImage, type OsImageFacts } from '../io/image-probe.js';
import { checkOsImage } from '../io/os-image-check.js';
import { readProbeCache, writeProbeCache } from '../io/probe-cache.js';
import { installEnvEntries } from '../render/installer-config.js';
import { ISO_PATHS, staticIsoDir, treeFiles } from '../iso/assemble.js';
import type { ProgressSink } from '../progress.js';
import { DEFAULT_MASKED_UNITS, normalizeUnitName, type RootfsChange } from '../rootfs/change.js';
import { projectRoot, version } from '../version.js';
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

const stripCached = ({ cached: _, ...facts }: OsImageFacts & { cached?: boolean }): OsImageFacts => facts;

/**
 * Probes the OS image (partitions, rootfs files) and refuses answers that cannot apply to it, one
 * line each, before any ISO work. A config rendered already (no answers) is not probed.
 */
async function probeAndCheck(
  req: BuildRequest,
  progress: ProgressSink,
  signal: AbortSignal,
): Promise<(OsImageFacts & { cached?: boolean }) | undefined> {
  if (!('answers' in req.installer)) return undefined;
  const started = Date.now();
  // the sha256 the image must have (the hash step checks it): the key of the probe cache
  const expected = req.osImageSha256?.toLowerCase() ?? (await siblingSha256(req.osImage))?.sha256;
  const cached = expected ? await readProbeCache(expected) : undefined;
  const image = cached ?? (await inContext('probing the OS image', () => probeOsImage(req.osImage, signal)));
  const has = Object.entries(image.has).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`);
  const pers = image.layout.persistent;
  progress({
    step: 'probe-os-image',
    kind: 'info',
    message: `OS image: ${has.join(', ')}, edge_persistent ${pers ? `${Math.round(pers.bytes / 2 ** 20)} MiB` : 'none'} (${cached ? 'cached probe' : `probed in ${((Date.now() - started) / 1000).toFixed(1)} s`})`,
  });
  const env = new Map(
    installEnvEntries(req.installer.answers, { osImageName: basename(req.osImage), osImageSha256: '', version, image }),
  );
  if (req.installer.answers.user.sudo === undefined && env.get('MI_USER_SUDO') === 'none') {
    progress({
      step: 'probe-os-image',
      kind: 'warn',
      message: `the OS image has no sudo: user ${req.installer.answers.user.name} gets no sudo rights (user.sudo is unset)`,
    });
  }
  const problems = imageProblems(env, image);
  if (problems.length > 0) {
    throw new UserError(`the answers cannot apply to the OS image ${req.osImage}:\n  ${problems.join('\n  ')}`);
  }
  return { ...image, ...(cached ? { cached: true } : {}) };
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
  const [image, { bootkit, scan }, os] = await Promise.all([
    probeAndCheck(req, progress, inputs.signal),
    readAndScanBootkit(req, workDir, progress, inputs.signal),
    hashOsImage(req, inputs.signal),
  ]).catch((err: unknown) => {
    inputs.abort(); // the first failure stops the other reader: the user hears about it now
    throw err;
  });
  progress({ step: 'read-inputs', kind: 'end', message: `OS image: sha256 ${os.sha256}` });
  if (image && !image.cached) await writeProbeCache(os.sha256, stripCached(image));
  const kernelStat = await stat(bootkit.kernel);
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
    ...(image ? { image: stripCached(image) } : {}),
    installerScripts,
    staticFiles,
    userApps,
  };
  return { facts, scan };
}
