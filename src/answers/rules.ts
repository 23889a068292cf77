// Why: checks that one field alone cannot express (static network needs its parts, LVM fits the
// disk, input files exist, checksums match), kept apart from the schema so each stays simple.
import { readdir, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { basename, dirname } from 'node:path';
import { sha256File, siblingSha256 } from '../io/hash.js';
import type { Answers } from './schema.js';
import { RESERVED_USERS } from '../facts.js';
import { hasK3sBundle } from '../k3s/bundle.js';

export interface RuleResult {
  errors: string[];
  warnings: string[];
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function sameIpv4Subnet(a: string, b: string, prefix: number): boolean {
  if (prefix === 0) return true;
  const shift = 32 - prefix;
  return Math.floor(ipv4ToInt(a) / 2 ** shift) === Math.floor(ipv4ToInt(b) / 2 ** shift);
}

/** Cross-field rules on a schema-valid answers object. Pure: no I/O. */
export function checkRules(a: Answers): RuleResult {
  const errors: string[] = [];
  const warnings: string[] = [];

  // bootkit: an archive, or a kernel plus an initramfs
  const bk = a.bootkit;
  if (bk.archive && (bk.kernel || bk.initramfs)) {
    errors.push('bootkit: give either bootkit.archive, or bootkit.kernel and bootkit.initramfs, not both');
  } else if (!bk.archive) {
    if (!bk.kernel && !bk.initramfs) {
      errors.push('bootkit.archive: is required (or give bootkit.kernel and bootkit.initramfs)');
    } else if (!bk.kernel) {
      errors.push('bootkit.kernel: is required with bootkit.initramfs');
    } else if (!bk.initramfs) {
      errors.push('bootkit.initramfs: is required with bootkit.kernel');
    }
    if (bk.sha256) errors.push('bootkit.sha256: is the checksum of bootkit.archive; remove it or give bootkit.archive');
  }

  // user
  if (RESERVED_USERS.has(a.user.name)) {
    errors.push(`user.name: "${a.user.name}" is a system account; choose another name, e.g. "edge"`);
  }
  if (!a.user.passwordHash && a.user.sshKeys.length === 0) {
    errors.push('user: give user.passwordHash, user.sshKeys or both, otherwise nobody can log in to the node');
  }

  // network
  const n = a.network;
  if (n.mode === 'static') {
    if (!n.address) errors.push('network.address: is required when network.mode is static');
    if (n.prefix === undefined) errors.push('network.prefix: is required when network.mode is static');
    if (!n.gateway) errors.push('network.gateway: is required when network.mode is static');
    if (n.address && n.prefix !== undefined && isIP(n.address) === 4 && n.prefix > 32) {
      errors.push(`network.prefix: ${n.prefix} is too long for an IPv4 address (at most 32)`);
    }
    if (n.address && n.gateway) {
      if (isIP(n.address) !== isIP(n.gateway)) {
        errors.push('network.gateway: must be the same IP version as network.address');
      } else if (n.address === n.gateway) {
        errors.push('network.gateway: must differ from network.address');
      } else if (isIP(n.address) === 4 && n.prefix !== undefined && n.prefix <= 32) {
        if (!sameIpv4Subnet(n.address, n.gateway, n.prefix)) {
          warnings.push(`network.gateway: ${n.gateway} is outside ${n.address}/${n.prefix}`);
        }
      }
    }
  } else {
    for (const key of ['address', 'prefix', 'gateway'] as const) {
      if (n[key] !== undefined) warnings.push(`network.${key}: ignored because network.mode is dhcp`);
    }
  }

  // disk and LVM
  const d = a.disk;
  if (d.minGiB !== undefined && d.maxGiB !== undefined && d.minGiB > d.maxGiB) {
    errors.push(`disk.minGiB: ${d.minGiB} is larger than disk.maxGiB ${d.maxGiB}`);
  }
  if (a.lvm.sizeGiB > 0) {
    if (d.maxGiB !== undefined && a.lvm.sizeGiB >= d.maxGiB) {
      errors.push(`lvm.sizeGiB: ${a.lvm.sizeGiB} GiB does not fit on a disk of at most disk.maxGiB ${d.maxGiB} GiB`);
    } else if (d.minGiB !== undefined && a.lvm.sizeGiB >= d.minGiB) {
      warnings.push(
        `lvm.sizeGiB: ${a.lvm.sizeGiB} GiB does not fit on the smallest allowed disk (disk.minGiB ${d.minGiB}); the installer stops on such a disk`,
      );
    }
  }

  // cloud-init extras
  const both = a.cloudInit.services.enable.filter((u) => a.cloudInit.services.disable.includes(u));
  for (const u of both) errors.push(`cloudInit.services: "${u}" is both enabled and disabled`);
  const seen = new Set<string>();
  a.cloudInit.writeFiles.forEach((f, i) => {
    if (seen.has(f.path)) errors.push(`cloudInit.writeFiles[${i}].path: ${f.path} is written twice`);
    seen.add(f.path);
  });

  // installer boot
  a.kernelArgs.forEach((arg, i) => {
    if (arg.startsWith('makeiso.')) {
      errors.push(`kernelArgs[${i}]: ${arg} is set by make-iso itself; remove it`);
    } else if (/^(root|rootflags)=/.test(arg)) {
      warnings.push(`kernelArgs[${i}]: ${arg} overrides the tmpfs root the bootkit needs`);
    } else if (arg.startsWith('console=') && a.console) {
      warnings.push(
        `kernelArgs[${i}]: ${arg} adds to the console from console.port; set console: null to use only yours`,
      );
    }
  });
  const dup = a.provisioningServices.filter((u, i) => a.provisioningServices.indexOf(u) !== i);
  for (const u of new Set(dup)) warnings.push(`provisioningServices: "${u}" is listed twice`);

  if (!a.output.path.endsWith('.iso')) warnings.push(`output.path: ${a.output.path} does not end in .iso`);
  return { errors, warnings };
}

type Kind = 'file' | 'directory';

async function expectKind(path: string, kind: Kind, key: string, errors: string[]): Promise<boolean> {
  try {
    const s = await stat(path);
    if (kind === 'file' && !s.isFile()) {
      errors.push(`${key}: ${path} is not a file`);
      return false;
    }
    if (kind === 'directory' && !s.isDirectory()) {
      errors.push(`${key}: ${path} is not a directory`);
      return false;
    }
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    errors.push(`${key}: ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`}`);
    return false;
  }
}

/** The checksum from a `.sha256sum` (or `.sha256`) file beside the image; unreadable or malformed: none. */
export async function readSidecarSha256(imagePath: string): Promise<string | undefined> {
  return (await siblingSha256(imagePath).catch(() => undefined))?.sha256;
}

/** The paths answers name, absolute (see load.ts `pathsOf`). */
export interface AnswerPaths {
  archive?: string | undefined;
  kernel?: string | undefined;
  initramfs?: string | undefined;
  osImage?: string | undefined;
  osImageSha256?: string | undefined;
  userAppsDir?: string | undefined;
  output: string;
}

/**
 * Checks the paths the answers name: inputs exist and are files, the user-apps directory is a
 * directory, the output's directory exists. Runs even when the schema failed, so a user sees
 * every problem at once.
 */
export async function checkPaths(p: AnswerPaths, opts: { force?: boolean } = {}): Promise<RuleResult> {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (p.archive) await expectKind(p.archive, 'file', 'bootkit.archive', errors);
  if (p.kernel) await expectKind(p.kernel, 'file', 'bootkit.kernel', errors);
  if (p.initramfs) await expectKind(p.initramfs, 'file', 'bootkit.initramfs', errors);
  if (p.osImage && (await expectKind(p.osImage, 'file', 'osImage.path', errors))) {
    const name = basename(p.osImage);
    if (!name.endsWith('.raw.gz')) errors.push(`osImage.path: ${p.osImage} must be a *.raw.gz EMT release image`);
    else if (!/^[A-Za-z0-9._+-]+$/.test(name)) {
      errors.push(
        `osImage.path: the file name ${name} may only use letters, digits, ".", "_", "+" and "-" (the installer finds it by that name); rename it`,
      );
    }
    const sidecar = await readSidecarSha256(p.osImage);
    if (sidecar && p.osImageSha256 && sidecar !== p.osImageSha256.toLowerCase()) {
      errors.push(`osImage.sha256: differs from ${p.osImage}.sha256sum (${sidecar})`);
    }
  }
  if (p.userAppsDir && (await expectKind(p.userAppsDir, 'directory', 'userAppsDir', errors))) {
    // an empty directory gave an ISO whose installer failed at step 7, after writing the disk
    if ((await readdir(p.userAppsDir).catch(() => [])).length === 0) {
      errors.push(`userAppsDir: ${p.userAppsDir} is empty; put the apps in it, or remove userAppsDir`);
    }
  }
  if (await expectKind(dirname(p.output), 'directory', 'output.path', errors)) {
    try {
      const s = await stat(p.output);
      if (s.isDirectory()) errors.push(`output.path: ${p.output} is a directory; name the ISO file`);
      else if (!opts.force) warnings.push(`output.path: ${p.output} exists; building replaces it only with --force`);
    } catch {
      // does not exist yet: fine
    }
  }
  return { errors, warnings };
}

/**
 * hostType kubernetes needs a k3s air-gap bundle (kubernetes.bundle, or userAppsDir/artifacts).
 * Said explicitly in the answers, its absence is an error naming what is missing. Left to the
 * default, the node gets the host-type marker only, as before k3s support (the installer logs it).
 * The bundle's contents (files, checksums, architecture) are checked by the build.
 */
export async function checkK3sAnswers(a: Answers, explicit: boolean): Promise<RuleResult> {
  if (!explicit || a.hostType !== 'kubernetes' || (await hasK3sBundle(a))) return { errors: [], warnings: [] };
  return {
    errors: [
      'hostType: kubernetes needs a k3s air-gap bundle: set kubernetes.bundle (a directory or tar with k3s, k3s-airgap-images-amd64.tar.zst, install.sh and their sha256) or put them in userAppsDir/artifacts/',
    ],
    warnings: [],
  };
}

/** Reads the inputs and compares their sha256 with the answers (or the image's .sha256sum). */
export async function checkChecksums(a: Answers, signal?: AbortSignal): Promise<RuleResult> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const compare = async (key: string, path: string, expected: string, from: string): Promise<void> => {
    let actual: string;
    try {
      actual = await sha256File(path, undefined, signal);
    } catch {
      return; // checkPaths already reports unreadable files
    }
    if (actual !== expected.toLowerCase()) {
      errors.push(`${key}: ${path} has sha256 ${actual}, but ${from} says ${expected.toLowerCase()}`);
    }
  };
  if (a.bootkit.archive && a.bootkit.sha256) {
    await compare('bootkit.sha256', a.bootkit.archive, a.bootkit.sha256, 'bootkit.sha256');
  }
  const sidecar = await readSidecarSha256(a.osImage.path);
  if (a.osImage.sha256) await compare('osImage.sha256', a.osImage.path, a.osImage.sha256, 'osImage.sha256');
  else if (sidecar) await compare('osImage.path', a.osImage.path, sidecar, `${a.osImage.path}.sha256sum`);
  else warnings.push('osImage.sha256: not given and no .sha256sum beside the image; the image is not verified');
  return { errors, warnings };
}
