// Why: the build's reading step: verify and scan the bootkit, hash the OS image, digest the
// installer scripts, the static tree and the user's apps. Returns facts; decides nothing.
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readBootkit, type Bootkit } from '../bootkit/release.js';
import { UserError, inContext } from '../errors.js';
import { requirementsError } from '../bootkit/requirements.js';
import { scanBootkitInitramfs, type BootkitInitramfsScan } from '../initramfs/scan.js';
import { sha256File, sha256Text, siblingSha256, verifyFile } from '../io/hash.js';
import { REQUIREMENTS_FILE } from '../requirements.js';
import { openBuildCache, type BuildCache } from './cache.js';
import { imageProblems } from '../image-needs.js';
import { probeOsImage, type OsImageFacts } from '../io/image-probe.js';
import { checkOsImage } from '../io/os-image-check.js';
import { readProbeCache, writeProbeCache } from '../io/probe-cache.js';
import { installEnvEntries } from '../render/installer-config.js';
import { nodeAnswers } from '../answers/fleet.js';
import { ISO_PATHS, staticIsoDir, treeFiles } from '../iso/assemble.js';
import type { ProgressSink } from '../progress.js';
import { DEFAULT_MASKED_UNITS, normalizeUnitName, type RootfsChange } from '../rootfs/change.js';
import { projectRoot, version } from '../version.js';
import { mergePackages, type PackageMerge } from '../packages/merge.js';
import { packageFiles, readPackage } from '../packages/read.js';
import type { PackageContents } from '../packages/entries.js';
import { loadRequirements } from '../requirements.js';
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
  cache: BuildCache | undefined,
): Promise<{ bootkit: Bootkit; scan: BootkitInitramfsScan; packages?: PackageMerge }> {
  // The packages are read while the bootkit is scanned (and the OS image hashed); a damaged
  // package is named before any problem of the bootkit.
  const packagesRead = req.packages?.length ? readPackages(req.packages, progress) : Promise.resolve(undefined);
  const scanned = scanBootkit(req, workDir, progress, signal, cache);
  scanned.catch(() => {}); // awaited below, after the packages
  const packages = await packagesRead;
  const { bootkit, scan } = await scanned;
  if (packages) return { bootkit, scan, packages: addPackages(packages, scan, progress) };
  if (scan.missing.length > 0) throw requirementsError(scan.missing);
  return { bootkit, scan };
}

async function scanBootkit(
  req: BuildRequest,
  workDir: string,
  progress: ProgressSink,
  signal: AbortSignal,
  cache: BuildCache | undefined,
): Promise<{ bootkit: Bootkit; scan: BootkitInitramfsScan }> {
  const mask = (req.maskedUnits ?? DEFAULT_MASKED_UNITS).map(normalizeUnitName);
  const bootkit = await inContext('reading the bootkit', () =>
    readBootkit(req.bootkit, workDir, req.bootkitSha256, { ...(cache ? { cache } : {}), signal }),
  );
  progress({
    step: 'read-bootkit',
    kind: 'info',
    message: `bootkit: kernel ${bootkit.kernelVersion}${bootkit.checkedAgainst ? `, checksum ok (${bootkit.checkedAgainst})` : ''}`,
  });
  // The scan depends on the initramfs, the units asked about and the requirements list.
  const scanName = `scan-${sha256Text(JSON.stringify([mask, readFileSync(REQUIREMENTS_FILE, 'utf8')])).slice(0, 16)}`;
  // The packages check needs the scan's rootfs index (Sets and Maps), which the cache does not
  // keep: with packages the bootkit is scanned again.
  const cached = req.packages?.length
    ? undefined
    : ((await cache?.derived(bootkit.sourceSha256, scanName)) as BootkitInitramfsScan | undefined);
  progress({
    step: 'scan',
    kind: 'start',
    message: cached ? 'the bootkit was scanned before (cached)' : 'scanning the bootkit initramfs and its rootfs',
  });
  const scan = cached
    ? { ...cached, path: bootkit.initramfs }
    : await inContext('scanning the initramfs', () => scanBootkitInitramfs(bootkit.initramfs, { units: mask, signal }));
  if (cache && !cached) {
    const { root: _root, ...kept } = scan;
    await cache.storeDerived(bootkit.sourceSha256, scanName, kept);
  }
  progress({
    step: 'scan',
    kind: 'end',
    message: `initramfs: ${scan.archives.length} archive(s), rootfs.tar.gz with ${scan.rootfs.entries} entries`,
  });
  return { bootkit, scan };
}

/** Reads every package file named (files, or directories of them), in order. */
async function readPackages(paths: readonly string[], progress: ProgressSink): Promise<PackageContents[]> {
  const files = await packageFiles(paths);
  progress({ step: 'packages', kind: 'start', message: `reading ${files.length} package file(s)` });
  // A few at a time: each xz or zstd member is a short-lived decoder process.
  const packages: PackageContents[] = new Array<PackageContents>(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < files.length; i = next++) packages[i] = await readPackage(files[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(4, files.length) }, worker));
  return packages;
}

/** Lays the packages over the scanned rootfs and checks the result (docs/packages.md). */
function addPackages(packages: PackageContents[], scan: BootkitInitramfsScan, progress: ProgressSink): PackageMerge {
  if (!scan.root) throw new Error('internal: the scan has no rootfs index to add packages to');
  const merge = mergePackages(packages, scan.root, loadRequirements(), scan.missing);
  for (const s of merge.supplied) {
    progress({
      step: 'packages',
      kind: 'info',
      message: `${s.requirement.name}: the bootkit lacks it; added from ${s.pkg.name} (${basename(s.pkg.file)})`,
    });
  }
  const SHOWN = 10;
  for (const r of merge.replaced.slice(0, SHOWN)) {
    progress({
      step: 'packages',
      kind: 'warn',
      message: `/${r.path}: ${basename(r.by)} replaces the file of ${r.over === 'the bootkit' ? r.over : basename(r.over)}`,
    });
  }
  if (merge.replaced.length > SHOWN) {
    progress({ step: 'packages', kind: 'warn', message: `and ${merge.replaced.length - SHOWN} more replaced files` });
  }
  progress({
    step: 'packages',
    kind: 'end',
    message: `${packages.length} package(s) add ${merge.files.length} entries; every added program and required tool finds its libraries`,
  });
  return merge;
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

/**
 * The cheap checks of the OS image, before anything slow starts (so their message always wins).
 * A digest remembered for this very file (unchanged since) means it passed them before.
 */
async function precheckOsImage(req: BuildRequest, cache: BuildCache | undefined): Promise<void> {
  const osStat = await stat(req.osImage).catch(() => undefined);
  if (!osStat?.isFile()) throw new UserError(`the OS image ${req.osImage} does not exist or is not a file`);
  if (!/\.raw\.gz$/.test(req.osImage)) throw new UserError(`the OS image ${req.osImage} must be a *.raw.gz file`);
  if (await cache?.knownSha256(req.osImage)) return;
  await checkOsImage(req.osImage);
}

async function hashOsImage(
  req: BuildRequest,
  signal: AbortSignal,
  cache: BuildCache | undefined,
): Promise<BuildFacts['os']> {
  const osStat = await stat(req.osImage);
  const { sha256 } = await verifyFile(req.osImage, 'OS image', req.osImageSha256, undefined, signal, cache);
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
  cache: BuildCache | undefined,
): Promise<(OsImageFacts & { cached?: boolean }) | undefined> {
  if (!('answers' in req.installer)) return undefined;
  const started = Date.now();
  // the sha256 the image must have (the hash step checks it), or the one remembered for this
  // very file: the key of the probe cache (not used with --no-cache)
  const expected = cache
    ? (req.osImageSha256?.toLowerCase() ??
      (await siblingSha256(req.osImage))?.sha256 ??
      (await cache.knownSha256(req.osImage)))
    : undefined;
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
  // a fleet medium: each node entry's answers must apply to the image as well
  const a = req.installer.answers;
  for (const n of a.nodes ?? []) {
    const merged = nodeAnswers(a, n).answers;
    if (!merged) continue; // validation already refused it
    const ctx = { osImageName: basename(req.osImage), osImageSha256: '', version, image };
    for (const p of imageProblems(new Map(installEnvEntries(merged, ctx)), image)) {
      if (!problems.includes(p)) problems.push(`node ${n.name}: ${p}`);
    }
  }
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
  cache: BuildCache | undefined = openBuildCache(),
): Promise<{ facts: BuildFacts; scan: BootkitInitramfsScan }> {
  progress({ step: 'read-inputs', kind: 'start', message: 'reading the bootkit release and checking the OS image' });
  await precheckOsImage(req, cache);
  // The bootkit (read, then scanned) and the OS image (hashed) are independent: on two cores
  // the scan of a release runs while a multi-GB OS image is still being hashed.
  const inputs = new AbortController();
  signal?.addEventListener('abort', () => inputs.abort(), { once: true });
  const [image, { bootkit, scan, packages }, os] = await Promise.all([
    probeAndCheck(req, progress, inputs.signal, cache),
    readAndScanBootkit(req, workDir, progress, inputs.signal, cache),
    hashOsImage(req, inputs.signal, cache),
  ]).catch((err: unknown) => {
    inputs.abort(); // the first failure stops the other reader: the user hears about it now
    throw err;
  });
  progress({ step: 'read-inputs', kind: 'end', message: `OS image: sha256 ${os.sha256}` });
  if (cache && image && !image.cached) await writeProbeCache(os.sha256, stripCached(image));
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
    ...(image ? { image: stripCached(image) } : {}),
    installerScripts,
    ...(packages ? { packageFiles: packages.files } : {}),
    staticFiles,
    userApps,
    ...(k3s ? { k3s } : {}),
  };
  return { facts, scan };
}
