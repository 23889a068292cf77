// Why: answers -> the files the installer on the node reads (install.env per docs/contracts.md,
// plus a NoCloud cloud-config for the extras), and a redacted, digestible copy for the manifest.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { stringify } from 'yaml';
import { describeMatch, nodeAnswers, nodeCriteria } from '../answers/fleet.js';
import { sudoPolicy, type Answers } from '../answers/schema.js';
import { NODE_DIR, NODE_MATCH_TABLE } from '../facts.js';
import { imageFactEntries } from '../image-needs.js';
import type { OsImageFacts } from '../io/image-probe.js';
import { shellAssignments, type ShellValue } from './shell.js';

export interface InstallerConfigContext {
  /** File name of the OS image on the media (`emt.raw.gz`), or its path relative to the media root. */
  osImageName: string;
  osImageSha256: string;
  /** make-iso version. */
  version: string;
  /** What the build's probe found in the OS image (install.env's MI_IMAGE_* facts); absent: not probed. */
  image?: OsImageFacts;
  /** The checked k3s air-gap bundle: its directory on the media and the sha256 of its files. */
  k3s?: { isoDir: string; checksums: ReadonlyArray<{ name: string; sha256: string }> };
}

export interface InstallerConfig {
  /** Content of /etc/make-iso/install.env. */
  installEnv: string;
  /** Content of /etc/make-iso/cloud-init.yaml, only when there are extras. */
  cloudInit?: string;
  /** /etc/rancher/k3s/config.yaml for the node (hostType kubernetes with a bundle). */
  k3sConfig?: string;
  /** /etc/rancher/k3s/registries.yaml (registry mirrors from the answers). */
  k3sRegistries?: string;
  /** With `nodes:` in the answers: each entry's full install.env, as nodes/<name>.env, and its
   * cloud-init extras (nodes/<name>.cloud-init.yaml), only when it has extras. */
  nodes?: Array<{ name: string; installEnv: string; cloudInit?: string }>;
  /** With `nodes:`: the match table nodes/match.tsv (NAME<TAB>KIND<TAB>GLOB lines). */
  nodeMatch?: string;
}

/** Where the node files sit in the installer's root, next to install.env (docs/contracts.md). */
export const NODE_FILES_DIR = `etc/make-iso/${NODE_DIR}`;
export const NODE_MATCH_PATH = `${NODE_FILES_DIR}/${NODE_MATCH_TABLE}`;

/** Where the user-apps directory sits on the media (docs/contracts.md). */
export const USER_APPS_ON_MEDIA = 'user-apps';

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

function hasCloudInitExtras(a: Answers): boolean {
  const c = a.cloudInit;
  return c.services.enable.length + c.services.disable.length + c.writeFiles.length + c.runcmd.length > 0;
}

/** The sudo policy: the answer; unset, the default, or `none` on an image without sudo (nothing to grant). */
function userSudo(a: Answers, image: OsImageFacts | undefined): string {
  if (a.user.sudo === undefined && image && !image.has.sudo) return 'none';
  return sudoPolicy(a.user);
}

/**
 * The whole-image facts of the build's probe (empty when not probed): with them the installer's
 * step 3 needs no inflate of its own (the .raw.gz sha256 proves the bytes are the probed ones).
 * MI_IMAGE_EXT4: "START INCOMPAT RO_COMPAT NAME" per ext2/3/4 partition, numbers in decimal.
 */
function rawImageEntries(image: OsImageFacts | undefined): Array<readonly [string, ShellValue]> {
  return [
    ['MI_IMAGE_RAW_BYTES', image ? String(image.raw.bytes) : ''],
    ['MI_IMAGE_RAW_SHA256', image?.raw.sha256 ?? ''],
    ['MI_IMAGE_EXT4', (image?.raw.ext4 ?? []).map((p) => `${p.start} ${p.incompat} ${p.roCompat} ${p.name}`)],
  ];
}

/** Every install.env key of the contract, in contract order; every key always present. */
export function installEnvEntries(a: Answers, ctx: InstallerConfigContext): Array<readonly [string, ShellValue]> {
  const n = a.network;
  const d = a.disk;
  const isStatic = n.mode === 'static';
  return [
    ['MI_VERSION', ctx.version],
    ['MI_OS_IMAGE', ctx.osImageName.includes('/') ? ctx.osImageName : `images/${ctx.osImageName}`],
    ['MI_OS_IMAGE_SHA256', ctx.osImageSha256.toLowerCase()],
    ['MI_USER_NAME', a.user.name],
    ['MI_USER_PASSWORD_HASH', a.user.passwordHash ?? ''],
    ['MI_SSH_KEYS', a.user.sshKeys.map((k) => k.trim())],
    ['MI_HOSTNAME', a.hostname ?? ''],
    ['MI_HTTP_PROXY', a.proxy.http ?? ''],
    ['MI_HTTPS_PROXY', a.proxy.https ?? ''],
    ['MI_NO_PROXY', a.proxy.noProxy ?? ''],
    ['MI_NET_MODE', n.mode],
    ['MI_NET_INTERFACE', n.interface ?? ''],
    ['MI_NET_ADDRESS', isStatic ? (n.address ?? '') : ''],
    ['MI_NET_PREFIX', isStatic && n.prefix !== undefined ? String(n.prefix) : ''],
    ['MI_NET_GATEWAY', isStatic ? (n.gateway ?? '') : ''],
    ['MI_NET_DNS', n.dns],
    ['MI_NTP_SERVERS', a.ntp.servers],
    ['MI_HOST_TYPE', a.hostType],
    ['MI_LVM_SIZE_GIB', String(a.lvm.sizeGiB)],
    ['MI_HUGEPAGES', String(a.hugepages)],
    ['MI_DISK_MATCH', d.match],
    ['MI_DISK_PICK', d.pick],
    ['MI_DISK_BY_ID', d.byId],
    ['MI_DISK_BY_PATH', d.byPath],
    ['MI_DISK_SERIAL', d.serial],
    ['MI_DISK_WWN', d.wwn],
    ['MI_DISK_MODEL', d.model],
    ['MI_DISK_TRANSPORT', d.transport],
    ['MI_DISK_MIN_GIB', d.minGiB === undefined ? '' : String(d.minGiB)],
    ['MI_DISK_MAX_GIB', d.maxGiB === undefined ? '' : String(d.maxGiB)],
    ['MI_DISK_ROTATIONAL', d.rotational === undefined ? '' : yesNo(d.rotational)],
    ['MI_DISK_WIPE_EXISTING', yesNo(d.wipeExisting)],
    ['MI_AFTER_INSTALL', a.afterInstall],
    ['MI_CLOUD_INIT', yesNo(hasCloudInitExtras(a))],
    ['MI_USER_APPS_DIR', a.userAppsDir ? USER_APPS_ON_MEDIA : ''],
    ['MI_USER_SUDO', userSudo(a, ctx.image)],
    ['MI_PERSISTENT_SIZE_GIB', a.persistent.sizeGiB === undefined ? '' : String(a.persistent.sizeGiB)],
    ...imageFactEntries(ctx.image),
    ...rawImageEntries(ctx.image),
    ['MI_K3S_BUNDLE', ctx.k3s?.isoDir ?? ''],
    ['MI_K3S_SHA256S', (ctx.k3s?.checksums ?? []).map((c) => `${c.sha256}  ${c.name}`)],
    ['MI_K3S_DATA_DIR', ctx.k3s ? a.kubernetes.dataDir : ''],
    ['MI_K3S_EXTRA_ARGS', ctx.k3s ? a.kubernetes.extraArgs : []],
  ];
}

/** The cloud-init extras as a NoCloud cloud-config document (YAML, never shell). */
export function renderCloudInit(a: Answers): string | undefined {
  if (!hasCloudInitExtras(a)) return undefined;
  const c = a.cloudInit;
  const doc: Record<string, unknown> = {};
  if (c.writeFiles.length > 0) {
    doc.write_files = c.writeFiles.map((f) => ({
      path: f.path,
      permissions: f.permissions.padStart(4, '0'),
      ...(f.owner ? { owner: f.owner } : {}),
      ...(f.append ? { append: true } : {}),
      content: f.content,
    }));
  }
  // services first (argv lists, no shell), then the user's own commands
  const runcmd: Array<string | string[]> = [
    ...c.services.enable.map((u) => ['systemctl', 'enable', '--now', u]),
    ...c.services.disable.map((u) => ['systemctl', 'disable', '--now', u]),
    ...c.runcmd.map((r) => (Array.isArray(r) ? [...r] : r)),
  ];
  if (runcmd.length > 0) doc.runcmd = runcmd;
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

/** k3s's config.yaml from the kubernetes answers (node IP/interface, data dir on /opt). */
export function renderK3sConfig(a: Answers): string {
  const k = a.kubernetes;
  const doc: Record<string, unknown> = {
    'data-dir': k.dataDir,
    'write-kubeconfig-mode': '0600',
    ...(k.nodeIp ? { 'node-ip': k.nodeIp } : {}),
    ...(k.interface ? { 'flannel-iface': k.interface } : {}),
  };
  return `# Written by make-iso from the answers (kubernetes); extra arguments are on the k3s unit.\n${stringify(doc, { lineWidth: 0 })}`;
}

/** k3s's registries.yaml (mirrors), or undefined without mirrors. */
export function renderK3sRegistries(a: Answers): string | undefined {
  const mirrors = Object.entries(a.kubernetes.registryMirrors);
  if (mirrors.length === 0) return undefined;
  const doc = { mirrors: Object.fromEntries(mirrors.map(([reg, endpoint]) => [reg, { endpoint }])) };
  return `# Written by make-iso from the answers (kubernetes.registryMirrors).\n${stringify(doc, { lineWidth: 0 })}`;
}

/**
 * The match table the installer reads at step 1: one NAME<TAB>KIND<TAB>GLOB line per criterion
 * (an entry matches when all its lines do), `NAME<TAB>default<TAB>*` for the default entry.
 */
export function renderNodeMatch(a: Answers): string {
  const lines = [`# make-iso node match table (docs/fleet-media.md): NAME<TAB>KIND<TAB>GLOB`];
  for (const n of a.nodes ?? []) {
    if (n.default) lines.push(`${n.name}\tdefault\t*`);
    for (const [kind, glob] of nodeCriteria(n)) lines.push(`${n.name}\t${kind}\t${glob}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Each node entry's install.env: the same renderer over that entry's merged answers. */
function renderNodes(a: Answers, ctx: InstallerConfigContext): NonNullable<InstallerConfig['nodes']> {
  return (a.nodes ?? []).map((n) => {
    const r = nodeAnswers(a, n);
    if (!r.answers) throw new Error(`node ${n.name} (${describeMatch(n)}): ${r.errors.join('; ')}`);
    const cloudInit = renderCloudInit(r.answers);
    return {
      name: n.name,
      installEnv: renderInstallEnv(r.answers, ctx),
      ...(cloudInit === undefined ? {} : { cloudInit }),
    };
  });
}

function renderInstallEnv(a: Answers, ctx: InstallerConfigContext): string {
  return shellAssignments(
    installEnvEntries(a, ctx),
    `make-iso ${ctx.version}: answers for the unattended installer (docs/contracts.md).\nRead with \`source\`; every value is single-quoted data.`,
  );
}

export function renderInstallerConfig(a: Answers, ctx: InstallerConfigContext): InstallerConfig {
  const installEnv = renderInstallEnv(a, ctx);
  const cloudInit = renderCloudInit(a);
  const registries = ctx.k3s ? renderK3sRegistries(a) : undefined;
  return {
    installEnv,
    ...(cloudInit === undefined ? {} : { cloudInit }),
    ...(ctx.k3s ? { k3sConfig: renderK3sConfig(a) } : {}),
    ...(registries === undefined ? {} : { k3sRegistries: registries }),
    ...(a.nodes ? { nodes: renderNodes(a, ctx), nodeMatch: renderNodeMatch(a) } : {}),
  };
}

const REDACTED = '<redacted>';

/** Hides the user:password of a URL; greedy to the last `@`, so a password holding `@` or `/` is hidden whole. */
export function redactUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  return url.replace(/^([a-z0-9+.-]+:\/\/).*@/i, `$1${REDACTED}@`);
}

/** cloud-init files with each content replaced by its size and sha256 (the rest kept). */
function redactWriteFiles(files: readonly unknown[]): unknown[] {
  return files.map((f) => {
    if (!f || typeof f !== 'object') return f;
    const content = (f as { content?: unknown }).content;
    const text = typeof content === 'string' ? content : '';
    return {
      ...f,
      content: `${REDACTED}: ${Buffer.byteLength(text)} bytes, sha256 ${createHash('sha256').update(text).digest('hex')}`,
    };
  });
}

/**
 * A copy of the answers that is safe to embed and show: no password hash, no proxy credentials,
 * no file contents, host paths reduced to file names and no output path (so the digest, and the
 * ISO, do not depend on where the inputs sat on the build machine or where the ISO goes).
 */
export function redactAnswers(a: Answers): Record<string, unknown> {
  const name = (p: string | undefined): string | undefined => (p === undefined ? undefined : basename(p));
  const copy: Record<string, unknown> = {
    ...a,
    bootkit: {
      ...a.bootkit,
      archive: name(a.bootkit.archive),
      kernel: name(a.bootkit.kernel),
      initramfs: name(a.bootkit.initramfs),
    },
    osImage: { ...a.osImage, path: name(a.osImage.path) },
    // where the ISO is written does not change what is in it
    output: { ...a.output, path: undefined },
    user: { ...a.user, passwordHash: a.user.passwordHash === undefined ? undefined : REDACTED },
    proxy: { ...a.proxy, http: redactUrl(a.proxy.http), https: redactUrl(a.proxy.https) },
    cloudInit: { ...a.cloudInit, writeFiles: redactWriteFiles(a.cloudInit.writeFiles) },
    // a node's cloud-init files are as secret as the base's (its other keys hold no secrets)
    ...(a.nodes
      ? {
          nodes: a.nodes.map((n) =>
            n.cloudInit && Array.isArray(n.cloudInit.writeFiles)
              ? { ...n, cloudInit: { ...n.cloudInit, writeFiles: redactWriteFiles(n.cloudInit.writeFiles) } }
              : n,
          ),
        }
      : {}),
    userAppsDir: name(a.userAppsDir),
    kubernetes: {
      ...a.kubernetes,
      bundle: name(a.kubernetes.bundle),
      registryMirrors: Object.fromEntries(
        Object.entries(a.kubernetes.registryMirrors).map(([reg, urls]) => [reg, urls.map((u) => redactUrl(u))]),
      ),
    },
  };
  delete copy.$schema;
  return JSON.parse(canonicalJson(copy)) as Record<string, unknown>;
}

/** JSON with object keys sorted at every level and undefined members dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)));
    }
    return v;
  });
}

/** sha256 of the canonical JSON of the redacted answers, for the manifest and the volume id. */
export function answersDigest(a: Answers): string {
  return createHash('sha256')
    .update(canonicalJson(redactAnswers(a)))
    .digest('hex');
}
