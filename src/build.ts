// Why: the generator pipeline: bootkit release + OS image + rendered answers in, one
// reproducible hybrid installer ISO out, written beside the target and renamed at the end.
import { randomBytes } from 'node:crypto';
import { link, mkdtemp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { InterruptedError, UserError, inContext } from './errors.js';
import { readBootkit, type BootkitSource } from './bootkit/release.js';
import { sha256File, sha256Text, verifyFile } from './io/hash.js';
import { assembleIso, ISO_PATHS, prepareIsoPlan, treeFiles } from './iso/assemble.js';
import { kernelArgs, serialUnit } from './iso/kargs.js';
import type { IsoFile } from './iso/plan.js';
import { MANIFEST_ISO_PATH, type Manifest } from './manifest.js';
import type { ProgressSink } from './progress.js';
import { grubQuote, grubTitle, renderTemplate } from './render/templates.js';
import { projectRoot, version } from './version.js';
import { REQUIRED_TOOLS, scanBootkitInitramfs } from './initramfs/scan.js';
import { writeCustomInitramfs } from './initramfs/write.js';
import { DEFAULT_MASKED_UNITS, normalizeUnitName, type RootfsChange } from './rootfs/change.js';

export interface InstallerConfig {
  installEnv: string;
  cloudInit?: string;
}

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
   * The installer's configuration rendered from the answers, or a function that renders it
   * once the OS image's checksum is known (so the image is hashed only once).
   */
  config: InstallerConfig | ((os: OsImageInfo) => InstallerConfig);
  answersDigest: string;
  redactedAnswers: unknown;
  kernelArgs?: string[];
  console?: { port: string; speed: number };
  tmpfsSize?: string;
  maskServices?: string[];
  userAppsDir?: string;
  mode?: 'overlay' | 'rewrite';
  sourceDateEpoch?: number;
  /** Seconds GRUB waits before booting the installer (default 5). */
  bootTimeout?: number;
}

export interface BuildResult {
  output: string;
  volid: string;
  sha256: string;
  size: number;
  manifest: Manifest;
  seconds: number;
}

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

export function rootfsChange(config: InstallerConfig, mask: string[], scripts: RootfsChange['files']): RootfsChange {
  const unit = renderTemplate('make-iso-installer.service.hbs', { version });
  const files: RootfsChange['files'] = [
    ...scripts,
    { path: 'etc/systemd/system/make-iso-installer.service', mode: 0o644, content: Buffer.from(unit) },
    {
      path: 'etc/systemd/system/multi-user.target.wants/make-iso-installer.service',
      symlink: '../make-iso-installer.service',
    },
    { path: 'etc/make-iso/install.env', mode: 0o600, content: Buffer.from(config.installEnv) },
    { path: 'etc/make-iso/version', mode: 0o644, content: Buffer.from(`${version}\n`) },
  ];
  if (config.cloudInit) {
    files.push({ path: 'etc/make-iso/cloud-init.yaml', mode: 0o600, content: Buffer.from(config.cloudInit) });
  }
  return { files, mask };
}

/** Volume id: MAKEISO_ + 8 hex digits of everything that defines the build. */
export function volumeId(parts: readonly string[]): string {
  return `MAKEISO_${sha256Text(parts.join('\n')).slice(0, 8).toUpperCase()}`;
}

async function refuseExisting(output: string, force: boolean | undefined): Promise<void> {
  const s = await stat(output).catch(() => undefined);
  if (s && !force) throw new UserError(`${output} already exists; use --force to overwrite it`);
  if (s && !s.isFile()) throw new UserError(`${output} exists and is not a regular file; choose another output path`);
  const dir = await stat(dirname(output)).catch(() => undefined);
  if (!dir?.isDirectory()) throw new UserError(`the output directory ${dirname(output)} does not exist`);
}

export async function buildIso(req: BuildRequest, progress: ProgressSink, signal?: AbortSignal): Promise<BuildResult> {
  const started = Date.now();
  const output = resolve(req.output);
  await refuseExisting(output, req.force);
  const checkAbort = () => {
    if (signal?.aborted) throw new InterruptedError('interrupted; nothing was written');
  };
  const work = await mkdtemp(join(tmpdir(), 'make-iso-'));
  const tmpIso = join(dirname(output), `.${basename(output)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    // the bootkit and the OS image are read at the same time (two cores, two files)
    progress({ step: 'read-inputs', kind: 'start', message: 'reading the bootkit release and checking the OS image' });
    // The bootkit (read, then scanned) and the OS image (hashed) are independent: on two cores
    // the scan of a release runs while a multi-GB OS image is still being hashed.
    const mask = (req.maskServices ?? DEFAULT_MASKED_UNITS).map(normalizeUnitName);
    const inputs = new AbortController();
    signal?.addEventListener('abort', () => inputs.abort(), { once: true });
    const [{ bootkit, scan }, { os, osStat }] = await Promise.all([
      (async () => {
        const bootkit = await inContext('reading the bootkit', () => readBootkit(req.bootkit, work, req.bootkitSha256));
        progress({
          step: 'read-bootkit',
          kind: 'info',
          message: `bootkit: kernel ${bootkit.kernelVersion}${bootkit.checkedAgainst ? `, checksum ok (${bootkit.checkedAgainst})` : ''}`,
        });
        progress({ step: 'scan', kind: 'start', message: 'scanning the bootkit initramfs and its rootfs' });
        const scan = await inContext('scanning the initramfs', () =>
          scanBootkitInitramfs(bootkit.initramfs, { units: mask, signal: inputs.signal }),
        );
        progress({
          step: 'scan',
          kind: 'end',
          message: `initramfs: ${scan.archives.length} archive(s), rootfs.tar.gz with ${scan.rootfs.entries} entries`,
        });
        if (scan.missingTools.length > 0) {
          const pkg = (t: string) => REQUIRED_TOOLS.find((r) => r.name === t)?.package ?? t;
          throw new UserError(
            `the bootkit rootfs lacks tools the installer needs: ${scan.missingTools.map((t) => `${t} (${pkg(t)})`).join(', ')}; use a bootkit release that includes them`,
          );
        }
        return { bootkit, scan };
      })(),
      (async () => {
        const osStat = await stat(req.osImage).catch(() => undefined);
        if (!osStat?.isFile()) throw new UserError(`the OS image ${req.osImage} does not exist or is not a file`);
        if (!/\.raw\.gz$/.test(req.osImage)) throw new UserError(`the OS image ${req.osImage} must be a *.raw.gz file`);
        return { os: await verifyFile(req.osImage, 'OS image', req.osImageSha256, undefined, inputs.signal), osStat };
      })(),
    ]).catch((err: unknown) => {
      inputs.abort(); // the first failure stops the other reader: the user hears about it now
      throw err;
    });
    progress({ step: 'read-inputs', kind: 'end', message: `OS image: sha256 ${os.sha256}` });
    checkAbort();
    const epoch = req.sourceDateEpoch ?? Math.floor((await stat(bootkit.kernel)).mtimeMs / 1000);

    const osName = basename(req.osImage);
    const osInfo: OsImageInfo = {
      name: osName,
      isoPath: `${ISO_PATHS.images}/${osName}`,
      sha256: os.sha256,
      size: osStat.size,
    };
    const config = typeof req.config === 'function' ? req.config(osInfo) : req.config;
    const change = rootfsChange(config, mask, await installerFiles());
    const found = scan.units.filter((u) => u.present).map((u) => u.name);
    progress({
      step: 'scan',
      kind: 'info',
      message: `provisioning services found: ${found.join(', ') || 'none'}; all of ${change.mask.join(', ')} will be masked`,
    });

    const volid = volumeId([
      version,
      bootkit.sourceSha256,
      os.sha256,
      req.answersDigest,
      sha256Text(config.installEnv),
      JSON.stringify([req.kernelArgs, req.console, req.tmpfsSize, change.mask, req.mode, epoch]),
    ]);
    const args = kernelArgs({ volid, tmpfsSize: req.tmpfsSize, console: req.console, extra: req.kernelArgs });
    const mode = req.mode ?? 'overlay';
    const initrd = join(work, 'initrd.img');
    progress({ step: 'initramfs', kind: 'start', message: `customising the initramfs (${mode} mode)` });
    const result = await inContext('customising the initramfs', () =>
      writeCustomInitramfs(bootkit.initramfs, initrd, change, { mode, mtime: epoch, scan, progress, signal }),
    );
    progress({
      step: 'initramfs',
      kind: 'end',
      message: `initramfs ready (${(result.bytes / 2 ** 20).toFixed(1)} MiB)`,
    });
    checkAbort();

    const grubCfg = renderTemplate('grub.cfg.hbs', {
      version,
      serialUnit: serialUnit(req.console?.port ?? 'ttyS0'),
      serialSpeed: req.console?.speed ?? 115200,
      timeout: req.bootTimeout ?? 5,
      osImageName: grubTitle(osName),
      kernelArgs: args.map(grubQuote).join(' '),
    });
    const sumsPath = join(work, `${osName}.sha256sum`);
    await writeFile(sumsPath, `${os.sha256}  ${osName}\n`);
    const files: IsoFile[] = [
      { isoPath: `${ISO_PATHS.images}/${osName}`, hostPath: resolve(req.osImage) },
      { isoPath: `${ISO_PATHS.images}/${osName}.sha256sum`, hostPath: sumsPath },
    ];
    if (req.userAppsDir) files.push(...(await treeFiles(resolve(req.userAppsDir), ISO_PATHS.userApps)));
    const plan = await prepareIsoPlan({
      output: tmpIso,
      volid,
      epoch,
      workDir: work,
      kernel: bootkit.kernel,
      initramfs: initrd,
      grubCfg,
      files,
    });
    const isoFiles = await Promise.all(
      plan.files.map(async (f) => ({
        path: f.isoPath,
        sha256: f.hostPath === resolve(req.osImage) ? os.sha256 : await sha256File(f.hostPath),
        size: (await stat(f.hostPath)).size,
      })),
    );
    const manifest: Manifest = {
      schema: 1,
      makeIso: { version },
      volid,
      epoch,
      bootkit: {
        source: bootkit.sourceName,
        sha256: bootkit.sourceSha256,
        kernel: {
          name: bootkit.kernelName,
          version: bootkit.kernelVersion,
          sha256: isoFiles.find((f) => f.path === ISO_PATHS.kernel)?.sha256 ?? (await sha256File(bootkit.kernel)),
        },
        initramfs: {
          name: bootkit.initramfsName,
          sha256: bootkit.initramfsSha256 ?? (await sha256File(bootkit.initramfs)),
        },
      },
      osImage: osInfo,
      answers: { digest: req.answersDigest, redacted: req.redactedAnswers },
      kernelArgs: args,
      bootModes: ['bios-cd', 'bios-usb', 'uefi-cd', 'uefi-usb'],
      initramfsMode: mode,
      services: { masked: change.mask, found },
      rootfsAdded: change.files.map((f) =>
        'content' in f
          ? { path: f.path, sha256: sha256Text(f.content) }
          : 'symlink' in f
            ? { path: f.path, symlink: f.symlink }
            : { path: f.path },
      ),
      isoFiles: isoFiles.sort((a, b) => (a.path < b.path ? -1 : 1)),
    };
    const manifestPath = join(work, 'manifest.json');
    await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    plan.files.push({ isoPath: MANIFEST_ISO_PATH, hostPath: manifestPath });
    checkAbort();

    const sha256 = await inContext('writing the ISO', () => assembleIso(plan, progress, signal));
    const fh = await open(tmpIso, 'r+');
    await fh.sync();
    await fh.close();
    if (req.force) {
      await rename(tmpIso, output);
    } else {
      // link() fails if the target appeared meanwhile: never clobber without --force
      await link(tmpIso, output).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST')
          throw new UserError(`${output} appeared while building; use --force to overwrite it`);
        throw err;
      });
      await rm(tmpIso);
    }
    const size = (await stat(output)).size;
    const seconds = (Date.now() - started) / 1000;
    progress({
      step: 'done',
      kind: 'info',
      message: `wrote ${output} (${(size / 2 ** 20).toFixed(1)} MiB, sha256 ${sha256}) in ${seconds.toFixed(1)} s`,
    });
    return { output, volid, sha256, size, manifest, seconds };
  } catch (err) {
    if (signal?.aborted && !(err instanceof InterruptedError)) {
      throw new InterruptedError('interrupted; nothing was written', { cause: err });
    }
    throw err;
  } finally {
    await rm(tmpIso, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}
