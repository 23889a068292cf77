// Why: everything a build will do, decided in one pure step from the request and the facts read
// from the inputs (volume id, kernel args, grub.cfg, rootfs change, ISO file list, manifest), so
// the whole plan is unit-tested from an answers file without building anything.
import { basename, join } from 'node:path';
import { NODE_CLOUD_INIT_SUFFIX } from '../facts.js';
import type { Answers } from '../answers/schema.js';
import type { Bootkit, BootkitSource } from '../bootkit/release.js';
import { sha256Text } from '../io/hash.js';
import { ISO_PATHS, bootFiles, isoLayout, type BootFiles } from '../iso/assemble.js';
import { kernelArgs, serialConsole, serialUnit } from '../iso/kargs.js';
import type { IsoFile, IsoPlan } from '../iso/plan.js';
import { MANIFEST_ISO_PATH, type Manifest } from '../manifest.js';
import type { OsImageFacts } from '../io/image-probe.js';
import {
  NODE_FILES_DIR,
  NODE_MATCH_PATH,
  renderInstallerConfig,
  type InstallerConfig,
} from '../render/installer-config.js';
import { grubQuote, grubTitle, renderTemplate } from '../render/templates.js';
import { chooseInitramfsMode, type DracutLayout, type InitramfsModeRequest } from '../initramfs/layout.js';
import { DEFAULT_MASKED_UNITS, normalizeUnitName, type RootfsChange } from '../rootfs/change.js';

export type { InstallerConfig };

export interface OsImageInfo {
  name: string;
  /** Path on the ISO, e.g. images/emt.raw.gz */
  isoPath: string;
  sha256: string;
  size: number;
}

export interface BuildRequest {
  bootkit: BootkitSource;
  bootkitSha256?: string;
  osImage: string;
  osImageSha256?: string;
  output: string;
  force?: boolean;
  /**
   * What the installer is told: the answers, rendered into its config once the OS image's
   * checksum is known (so the image is hashed only once), or a config rendered already.
   */
  installer: { answers: Answers } | { config: InstallerConfig };
  answersDigest: string;
  redactedAnswers: unknown;
  kernelArgs?: string[];
  /** Serial console for GRUB and the kernel; default ttyS0 at 115200; null: screen only. */
  console?: { port: string; speed: number } | null;
  tmpfsSize?: string;
  maskedUnits?: string[];
  userAppsDir?: string;
  /** hostType kubernetes with a k3s air-gap bundle: the bundle (dir or tar), else userAppsDir/artifacts. */
  k3s?: { bundle?: string };
  /** 'auto' (default): overlay when the bootkit's dracut layout is recognised, else rewrite. */
  mode?: InitramfsModeRequest;
  /** Timestamp for every file in the ISO; default: the kernel's modification time. */
  sourceDateEpoch?: number;
  /** Seconds GRUB waits before booting the installer (default 5). */
  bootTimeout?: number;
  /** .rpm/.deb files or directories of them, merged into the installer's root (docs/packages.md). */
  packages?: string[];
}

/** A file read from the build machine, with what the manifest needs to know about it. */
export interface DigestedFile extends IsoFile {
  sha256: string;
  size: number;
}

/** What reading the inputs found out; everything the plan depends on besides the request. */
export interface BuildFacts {
  version: string;
  bootkit: Bootkit;
  kernel: { sha256: string; size: number; mtime: number };
  initramfsSha256: string;
  /** Provisioning units the scan found in the bootkit rootfs. */
  unitsFound: string[];
  os: OsImageInfo & { hostPath: string };
  /** installer-scripts/, as rootfs files under /usr/lib/make-iso. */
  installerScripts: RootfsChange['files'];
  /** Payload files of the given packages (already checked), laid under make-iso's own files. */
  packageFiles?: RootfsChange['files'];
  /** iso/root: files copied onto every ISO. */
  staticFiles: DigestedFile[];
  /** The user's apps directory, under user-apps/. */
  userApps: DigestedFile[];
  /** What the probe found in the OS image (rootfs files, partitions); absent when not probed. */
  image?: OsImageFacts;
  /** The checked k3s bundle: where it sits on the ISO and the files the build adds for it. */
  k3s?: { isoDir: string; checksums: Array<{ name: string; sha256: string }>; files: DigestedFile[] };
  /** What the scan found about the initramfs: its dracut layout, and its last archive's compression. */
  initramfs?: { layout: DracutLayout; lastCompression?: string };
}

/** Where the executors put what they generate (all paths; nothing here is read). */
export interface BuildPaths {
  workDir: string;
  tmpIso: string;
}

export interface BuildPlan {
  volid: string;
  epoch: number;
  mode: 'overlay' | 'rewrite';
  /** Why that mode, when make-iso chose it (mode: auto). */
  modeReason?: string;
  kernelArgs: string[];
  grubCfg: string;
  config: InstallerConfig;
  change: RootfsChange;
  /** The custom initramfs, written by the initramfs step. */
  initramfs: string;
  boot: BootFiles;
  /** The OS image's `.sha256sum` file: its path in the work dir and content. */
  sums: { path: string; content: string };
  manifestPath: string;
  /** Everything xorriso writes, the manifest included. */
  iso: IsoPlan;
}

export const DEFAULT_BOOT_TIMEOUT = 5;

/** The installer's config: rendered from the answers now that the OS image is known. */
export function installerConfig(
  req: BuildRequest,
  os: OsImageInfo,
  version: string,
  image?: OsImageFacts,
  k3s?: BuildFacts['k3s'],
): InstallerConfig {
  if ('config' in req.installer) return req.installer.config;
  return renderInstallerConfig(req.installer.answers, {
    osImageName: os.isoPath,
    osImageSha256: os.sha256,
    version,
    ...(image ? { image } : {}),
    ...(k3s ? { k3s: { isoDir: k3s.isoDir, checksums: k3s.checksums } } : {}),
  });
}

export function rootfsChange(
  config: InstallerConfig,
  mask: string[],
  scripts: RootfsChange['files'],
  version: string,
  tmpfsSize = '1G',
  packageFiles: RootfsChange['files'] = [],
): RootfsChange {
  const unit = renderTemplate('make-iso-installer.service.hbs', { version });
  const sizeUnit = renderTemplate('make-iso-tmpfs-size.service.hbs', {
    version,
    size: tmpfsSize.replace(/%/g, '%%'), // systemd specifiers: 50% is written 50%%
  });
  const files: RootfsChange['files'] = [
    ...scripts,
    { path: 'etc/systemd/system/make-iso-installer.service', mode: 0o644, content: Buffer.from(unit) },
    {
      path: 'etc/systemd/system/multi-user.target.wants/make-iso-installer.service',
      symlink: '../make-iso-installer.service',
    },
    // The vendor mount hook's tmpfs size is fixed (1G); this unit resizes it to tmpfsSize.
    { path: 'etc/systemd/system/make-iso-tmpfs-size.service', mode: 0o644, content: Buffer.from(sizeUnit) },
    {
      path: 'etc/systemd/system/local-fs.target.wants/make-iso-tmpfs-size.service',
      symlink: '../make-iso-tmpfs-size.service',
    },
    { path: 'etc/make-iso/install.env', mode: 0o600, content: Buffer.from(config.installEnv) },
    { path: 'etc/make-iso/version', mode: 0o644, content: Buffer.from(`${version}\n`) },
  ];
  if (config.cloudInit) {
    files.push({ path: 'etc/make-iso/cloud-init.yaml', mode: 0o600, content: Buffer.from(config.cloudInit) });
  }
  if (config.k3sConfig) {
    files.push({ path: 'etc/make-iso/k3s-config.yaml', mode: 0o600, content: Buffer.from(config.k3sConfig) });
  }
  if (config.k3sRegistries) {
    files.push({ path: 'etc/make-iso/k3s-registries.yaml', mode: 0o600, content: Buffer.from(config.k3sRegistries) });
  }
  for (const n of config.nodes ?? []) {
    files.push({ path: `${NODE_FILES_DIR}/${n.name}.env`, mode: 0o600, content: Buffer.from(n.installEnv) });
    if (n.cloudInit !== undefined) {
      const path = `${NODE_FILES_DIR}/${n.name}${NODE_CLOUD_INIT_SUFFIX}`;
      files.push({ path, mode: 0o600, content: Buffer.from(n.cloudInit) });
    }
  }
  if (config.nodeMatch !== undefined) {
    files.push({ path: NODE_MATCH_PATH, mode: 0o644, content: Buffer.from(config.nodeMatch) });
  }
  // make-iso's own files win over a package's file at the same path.
  const own = new Set(files.map((f) => f.path));
  return { files: [...packageFiles.filter((f) => !own.has(f.path)), ...files], mask };
}

/** What the manifest lists as added to the rootfs (digests, never contents). */
function rootfsAdded(change: RootfsChange): Manifest['rootfsAdded'] {
  return change.files.map((f) =>
    'content' in f
      ? { path: f.path, sha256: sha256Text(f.content) }
      : 'symlink' in f
        ? { path: f.path, symlink: f.symlink }
        : { path: f.path },
  );
}

/** Volume id: MAKEISO_ + 8 hex digits of everything that defines the build. */
export function volumeId(parts: readonly string[]): string {
  return `MAKEISO_${sha256Text(parts.join('\n')).slice(0, 8).toUpperCase()}`;
}

/**
 * The volume id of this build. The installer finds its media by this label, so every input
 * that changes the ISO's content changes it: a stale stick never passes for a new one.
 */
function buildVolumeId(req: BuildRequest, facts: BuildFacts, change: RootfsChange, epoch: number): string {
  const files = (list: DigestedFile[]) => list.map((f) => [f.isoPath, f.sha256]);
  return volumeId([
    facts.version,
    facts.bootkit.sourceSha256,
    facts.os.sha256,
    facts.os.name,
    req.answersDigest,
    sha256Text(JSON.stringify(rootfsAdded(change))),
    JSON.stringify([req.kernelArgs, req.console, req.tmpfsSize, change.mask, req.mode, epoch]),
    JSON.stringify([
      req.bootTimeout ?? DEFAULT_BOOT_TIMEOUT,
      files(facts.staticFiles),
      files(facts.userApps),
      files(facts.k3s?.files ?? []),
    ]),
  ]);
}

function grubConfig(req: BuildRequest, facts: BuildFacts, args: string[], version: string): string {
  const serial = serialConsole(req.console);
  return renderTemplate('grub.cfg.hbs', {
    version,
    serial: serial ? { unit: serialUnit(serial.port), speed: serial.speed } : false,
    timeout: req.bootTimeout ?? DEFAULT_BOOT_TIMEOUT,
    osImageName: grubTitle(facts.os.name),
    kernelArgs: args.map(grubQuote).join(' '),
  });
}

/** Everything the build will do, from the request and the facts read from the inputs (pure). */
export function planBuild(req: BuildRequest, facts: BuildFacts, paths: BuildPaths): BuildPlan {
  const version = facts.version;
  const mask = (req.maskedUnits ?? DEFAULT_MASKED_UNITS).map(normalizeUnitName);
  const config = installerConfig(req, facts.os, version, facts.image, facts.k3s);
  const change = rootfsChange(config, mask, facts.installerScripts, version, req.tmpfsSize, facts.packageFiles);
  const epoch = req.sourceDateEpoch ?? facts.kernel.mtime;
  const volid = buildVolumeId(req, facts, change, epoch);
  const args = kernelArgs({ volid, tmpfsSize: req.tmpfsSize, console: req.console, extra: req.kernelArgs });
  const boot = bootFiles(paths.workDir);
  const initramfs = join(paths.workDir, 'initrd.img');
  const sums = {
    path: join(paths.workDir, `${facts.os.name}.sha256sum`),
    content: `${facts.os.sha256}  ${facts.os.name}\n`,
  };
  const manifestPath = join(paths.workDir, 'manifest.json');
  const files: IsoFile[] = [
    ...facts.staticFiles.map(({ isoPath, hostPath }) => ({ isoPath, hostPath })),
    { isoPath: facts.os.isoPath, hostPath: facts.os.hostPath },
    { isoPath: `${facts.os.isoPath}.sha256sum`, hostPath: sums.path },
    ...facts.userApps.map(({ isoPath, hostPath }) => ({ isoPath, hostPath })),
    ...(facts.k3s?.files ?? []).map(({ isoPath, hostPath }) => ({ isoPath, hostPath })),
    { isoPath: MANIFEST_ISO_PATH, hostPath: manifestPath },
  ];
  const iso = isoLayout({ output: paths.tmpIso, volid, epoch, kernel: facts.bootkit.kernel, initramfs, boot, files });
  const grubCfg = grubConfig(req, facts, args, version);
  const { mode, reason } = chooseInitramfsMode(req.mode, facts.initramfs);
  return {
    volid,
    epoch,
    mode,
    ...(reason ? { modeReason: reason } : {}),
    kernelArgs: args,
    grubCfg,
    config,
    change,
    initramfs,
    boot,
    sums,
    manifestPath,
    iso,
  };
}

/** Digests of the files the executors generate (the initramfs and the GRUB loaders). */
export type GeneratedDigests = Record<string, { sha256: string; size: number }>;

/** The ISO's manifest (pure): every file but the manifest itself, with its digest and size. */
export function composeManifest(
  req: BuildRequest,
  facts: BuildFacts,
  plan: BuildPlan,
  generated: GeneratedDigests,
): Manifest {
  const known = new Map<string, { sha256: string; size: number }>([
    [facts.bootkit.kernel, facts.kernel],
    [facts.os.hostPath, facts.os],
    [plan.boot.grubCfg, { sha256: sha256Text(plan.grubCfg), size: Buffer.byteLength(plan.grubCfg) }],
    [plan.sums.path, { sha256: sha256Text(plan.sums.content), size: Buffer.byteLength(plan.sums.content) }],
    ...[...facts.staticFiles, ...facts.userApps, ...(facts.k3s?.files ?? [])].map((f) => [f.hostPath, f] as const),
    ...Object.entries(generated),
  ]);
  const isoFiles = plan.iso.files
    .filter((f) => f.isoPath !== MANIFEST_ISO_PATH)
    .map((f) => {
      const d = known.get(f.hostPath);
      if (!d) throw new Error(`no digest for ${f.hostPath} (${f.isoPath})`);
      return { path: f.isoPath, sha256: d.sha256, size: d.size };
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const b = facts.bootkit;
  const { hostPath: _host, ...osImage } = facts.os;
  return {
    schema: 1,
    makeIso: { version: facts.version },
    volid: plan.volid,
    epoch: plan.epoch,
    bootkit: {
      source: b.sourceName,
      sha256: b.sourceSha256,
      kernel: { name: b.kernelName, version: b.kernelVersion, sha256: facts.kernel.sha256 },
      initramfs: { name: b.initramfsName, sha256: facts.initramfsSha256 },
    },
    osImage,
    answers: { digest: req.answersDigest, redacted: req.redactedAnswers },
    kernelArgs: plan.kernelArgs,
    bootModes: ['bios-cd', 'bios-usb', 'uefi-cd', 'uefi-usb'],
    initramfsMode: plan.mode,
    services: { masked: plan.change.mask, found: facts.unitsFound },
    rootfsAdded: rootfsAdded(plan.change),
    isoFiles,
  };
}

/** The OS image as the ISO carries it. */
export function osImageInfo(path: string, sha256: string, size: number): OsImageInfo & { hostPath: string } {
  const name = basename(path);
  return { name, isoPath: `${ISO_PATHS.images}/${name}`, sha256, size, hostPath: path };
}
