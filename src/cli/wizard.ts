// Why: `make-iso` on a terminal with no arguments asks every question (with the schema's own
// checks at each prompt), shows a summary, saves the answers file 0600 and builds. Nothing is
// written before the final confirmation, so Ctrl-C anywhere leaves nothing behind.
import type { z } from 'zod';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { formatPath, validateAnswers } from '../answers/load.js';
import { hashPassword } from '../answers/password.js';
import { schemaModeline } from '../answers/json-schema.js';
import {
  answersSchema,
  checkField,
  DEFAULT_MASKED_SERVICES,
  DISK_TRANSPORTS,
  hostname,
  hostOrIp,
  ipAddress,
  kernelArg,
  proxyUrl,
  sha256Hex,
  sshKey,
  tmpfsSize,
  unitName,
  userName,
  type Answers,
} from '../answers/schema.js';
import { summaryLines } from '../answers/summary.js';
import { answersToYaml } from '../answers/template.js';
import { writeAnswersFile } from '../answers/save.js';
import { ValidationError } from '../errors.js';
import { RESERVED_USERS } from '../facts.js';
import type { Output } from './output.js';
import type { Prompts, Validate } from './prompts.js';

export interface WizardDeps {
  prompts: Prompts;
  out: Pick<Output, 'info' | 'warn'>;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Builds from saved answers (the same path as `make-iso --answers`). */
  build: (answers: Answers, answersFile: string, force: boolean) => Promise<void>;
  /**
   * Hook for the USB engineer: offered after a successful build (e.g. "write it to a USB stick
   * now?"). Leave undefined to skip.
   */
  afterBuild?: (isoPath: string, prompts: Prompts) => Promise<void>;
}

function splitList(v: string): string[] {
  return v
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `validate` for a comma/space-separated list whose items must each pass `item`. */
function listOf(item: Validate<string>): Validate<string> {
  return (v) => {
    for (const x of splitList(v)) {
      const r = item(x);
      if (r !== true) return `${x}: ${r}`;
    }
    return true;
  };
}

const optional =
  (check: Validate<string>): Validate<string> =>
  (v) =>
    v.trim() === '' ? true : check(v.trim());

function newestMatching(dir: string, re: RegExp): string | undefined {
  try {
    return readdirSync(dir)
      .filter((f) => re.test(f))
      .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t)[0]?.f;
  } catch {
    return undefined;
  }
}

function kindOf(path: string): 'file' | 'directory' | 'missing' | 'other' {
  try {
    const s = statSync(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
}

/** Reads an ssh key given as a key line or as a path to a .pub file. */
function sshKeyFrom(value: string, cwd: string): string {
  const v = value.trim();
  if (v === '') return '';
  const p = resolve(cwd, v.replace(/^~(?=\/)/, homedir()));
  if (!/\s/.test(v) && kindOf(p) === 'file') return (readFileSync(p, 'utf8').split('\n')[0] ?? '').trim();
  return v;
}

/** Part of the answers as the answers file spells it (keys of the schema's top level). */
type Raw = Record<string, unknown>;

/** What every section needs: the prompts, the output and paths resolved against the wizard's directory. */
interface Ctx {
  p: Prompts;
  out: WizardDeps['out'];
  cwd: string;
  env: NodeJS.ProcessEnv;
  abs: (v: string) => string;
}

/**
 * Checks one section's answers with the answers schema's own entries for those top-level keys,
 * so a section that slipped past its prompts stops the wizard before the next one is asked.
 */
export function checkSection(what: string, part: Raw): Raw {
  const shape = answersSchema.shape as Record<string, z.ZodType>;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(part)) {
    const schema = shape[key];
    if (!schema) {
      problems.push(`${key}: is not an answers key`);
      continue;
    }
    const r = schema.safeParse(value);
    if (!r.success) problems.push(...r.error.issues.map((i) => `${formatPath([key, ...i.path])}: ${i.message}`));
  }
  if (problems.length > 0) throw new ValidationError(problems, what);
  return part;
}

const isFileIn =
  (c: Ctx): Validate<string> =>
  (v) => {
    if (v.trim() === '') return 'a path is required';
    const k = kindOf(c.abs(v));
    return k === 'file' ? true : k === 'missing' ? `${c.abs(v)} does not exist` : `${c.abs(v)} is not a file`;
  };

async function askSha(c: Ctx, message: string): Promise<string> {
  return (await c.p.text(message, { validate: optional((v) => checkField(sha256Hex, v)) })).trim();
}

/** Section: the bootkit release and the OS image (with their checksums). */
async function askBootkitAndImage(c: Ctx): Promise<{ bootkit: Raw; osImage: Raw }> {
  const archive = c.abs(
    await c.p.text('Bootkit release (tar.gz):', {
      default: newestMatching(c.cwd, /^emb_uos.*\.tar\.gz$/) ?? newestMatching(c.cwd, /\.tar\.gz$/) ?? '',
      validate: isFileIn(c),
    }),
  );
  const bootkitSha = await askSha(c, 'sha256 of the bootkit release (empty: do not check):');
  const image = c.abs(
    await c.p.text('OS image to install (*.raw.gz):', {
      default: newestMatching(c.cwd, /\.raw\.gz$/) ?? '',
      validate: isFileIn(c),
    }),
  );
  let imageSha = '';
  if (existsSync(`${image}.sha256sum`)) {
    c.out.info(`  its checksum is read from ${image}.sha256sum`);
  } else {
    imageSha = await askSha(c, 'sha256 of the OS image (empty: computed, not checked):');
  }
  const part = {
    bootkit: { archive, ...(bootkitSha ? { sha256: bootkitSha.toLowerCase() } : {}) },
    osImage: { path: image, ...(imageSha ? { sha256: imageSha.toLowerCase() } : {}) },
  };
  checkSection('the bootkit and OS image answers', part);
  return part;
}

/** Section: where the ISO goes, and whether an existing one may be replaced by the build. */
async function askIsoPath(c: Ctx): Promise<{ output: Raw; replaceIso: boolean }> {
  const output = c.abs(
    await c.p.text('ISO to write:', {
      default: 'make-iso.iso',
      validate: (v) => {
        const k = kindOf(dirname(c.abs(v)));
        if (k !== 'directory') return `${dirname(c.abs(v))} is not an existing directory`;
        return kindOf(c.abs(v)) === 'directory' ? `${c.abs(v)} is a directory` : true;
      },
    }),
  );
  let replaceIso = false;
  if (kindOf(output) === 'file') {
    replaceIso = await c.p.confirm(`${output} exists. Replace it when building?`, { default: false });
    if (!replaceIso) c.out.warn('the build will stop unless another ISO path is chosen; Ctrl-C to start over');
  }
  checkSection('the ISO answer', { output: { path: output } });
  return { output: { path: output }, replaceIso };
}

/** Asks a password twice until both match; empty means none. Returns its SHA-512 crypt hash. */
async function askPassword(c: Ctx, name: string): Promise<string | undefined> {
  for (;;) {
    const pw = await c.p.secret(`Password for ${name} (empty: ssh keys only):`);
    if (pw === '') return undefined;
    const again = await c.p.secret('Password again:');
    if (pw === again) return hashPassword(pw);
    c.out.warn('the two passwords differ; try again');
  }
}

/** Section: the user created on the node (name, password, ssh key) and the host name. */
async function askUser(c: Ctx): Promise<{ user: Raw; hostname?: string }> {
  const name = (
    await c.p.text('User to create on the node:', {
      default: 'edge',
      validate: (v) =>
        RESERVED_USERS.has(v.trim()) ? `"${v.trim()}" is a system account` : checkField(userName, v.trim()),
    })
  ).trim();
  const passwordHash = await askPassword(c, name);
  const defaultKey = ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub']
    .map((f) => join(homedir(), '.ssh', f))
    .find((f) => kindOf(f) === 'file');
  const keyAnswer = await c.p.text('SSH public key, or a .pub file (empty: none):', {
    ...(defaultKey ? { default: defaultKey } : {}),
    validate: (v) => {
      const key = sshKeyFrom(v, c.cwd);
      if (key === '') return passwordHash ? true : 'without a password, an ssh key is needed to log in';
      return checkField(sshKey, key);
    },
  });
  const key = sshKeyFrom(keyAnswer, c.cwd);
  const host = (
    await c.p.text('Host name (empty: keep the image default):', { validate: optional((v) => checkField(hostname, v)) })
  ).trim();
  const part = {
    user: { name, ...(passwordHash ? { passwordHash } : {}), sshKeys: key ? [key] : [] },
    ...(host ? { hostname: host } : {}),
  };
  checkSection('the user answers', part);
  return part;
}

/** The `network` group: DHCP or a static address, the interface and DNS servers. */
async function askNetwork(c: Ctx): Promise<Raw> {
  const mode = await c.p.select('Network:', [
    { name: 'DHCP', value: 'dhcp' as const },
    { name: 'static address', value: 'static' as const },
  ]);
  const network: Raw = { mode };
  const iface = (
    await c.p.text('Interface (empty: the first with a carrier):', {
      validate: optional((v) => (/^[A-Za-z0-9_.:-]{1,15}$/.test(v) ? true : 'not an interface name')),
    })
  ).trim();
  if (iface) network.interface = iface;
  if (mode === 'static') {
    network.address = (await c.p.text('Address:', { validate: (v) => checkField(ipAddress, v.trim()) })).trim();
    network.prefix = await c.p.integer('Prefix length (24 is 255.255.255.0):', { default: 24, min: 0, max: 128 });
    network.gateway = (await c.p.text('Gateway:', { validate: (v) => checkField(ipAddress, v.trim()) })).trim();
  }
  network.dns = splitList(
    await c.p.text('DNS servers (comma-separated, empty: none):', {
      validate: listOf((v) => checkField(ipAddress, v)),
    }),
  );
  return network;
}

/** The `proxy` group, offered with the proxy of the wizard's own environment as default. */
async function askProxy(c: Ctx): Promise<Raw> {
  const { env } = c;
  const envProxy = env.https_proxy ?? env.HTTPS_PROXY ?? env.http_proxy ?? env.HTTP_PROXY;
  const proxy: Record<string, string> = {};
  if (!(await c.p.confirm('Does the node need a proxy?', { default: Boolean(envProxy) }))) return proxy;
  const http = await c.p.text('HTTP proxy URL:', {
    default: env.http_proxy ?? env.HTTP_PROXY ?? '',
    validate: optional((v) => checkField(proxyUrl, v)),
  });
  const https = await c.p.text('HTTPS proxy URL:', {
    default: env.https_proxy ?? env.HTTPS_PROXY ?? http,
    validate: optional((v) => checkField(proxyUrl, v)),
  });
  const noProxy = await c.p.text('No proxy for (comma-separated):', {
    default: env.no_proxy ?? env.NO_PROXY ?? 'localhost,127.0.0.1',
    validate: (v) => (/^[^\s'"\\]*$/.test(v.trim()) ? true : 'no spaces, quotes or backslashes'),
  });
  if (http.trim()) proxy.http = http.trim();
  if (https.trim()) proxy.https = https.trim();
  if (noProxy.trim()) proxy.noProxy = noProxy.trim();
  return proxy;
}

/** Section: network, proxy, NTP and what the node runs. */
async function askNetworkSection(
  c: Ctx,
): Promise<{ proxy: Raw; network: Raw; ntp: Raw; hostType?: string; kubernetes?: Raw }> {
  const network = await askNetwork(c);
  const proxy = await askProxy(c);
  const servers = splitList(
    await c.p.text('NTP servers (comma-separated, empty: image default):', {
      validate: listOf((v) => checkField(hostOrIp, v)),
    }),
  );
  const hostType = await c.p.select('What does the node run?', [
    { name: 'Kubernetes', value: 'kubernetes' as const },
    { name: 'containers', value: 'container' as const },
  ]);
  const part: { proxy: Raw; network: Raw; ntp: Raw; hostType?: string; kubernetes?: Raw } = {
    proxy,
    network,
    ntp: { servers },
    hostType,
  };
  if (hostType === 'kubernetes') {
    const bundle = (
      await c.p.text('k3s air-gap bundle, a directory or tar (empty: none, the node gets no k3s):', {
        validate: optional((v) => (kindOf(c.abs(v)) === 'missing' ? `${c.abs(v)} does not exist` : true)),
      })
    ).trim();
    if (bundle) part.kubernetes = { bundle: c.abs(bundle) };
    else {
      // hostType: kubernetes written without a bundle is refused; left to the default, the node gets the marker only
      delete part.hostType;
      c.out.info(
        'no k3s bundle: hostType is left to its default; add kubernetes.bundle to the answers for k3s (docs/host-types.md)',
      );
    }
  }
  checkSection('the network answers', part);
  return part;
}

/** Section: how the installer picks the target disk, and the LVM volume group. */
async function askDisk(c: Ctx): Promise<{ disk: Raw; lvm: Raw }> {
  c.out.info('Target disk: the install media is never a candidate.');
  const transport = await c.p.multi(
    'Allowed disk types (none selected: any):',
    DISK_TRANSPORTS.map((t) => ({ name: t, value: t })),
  );
  const minGiB = await c.p.integer('Smallest acceptable disk in GiB (0: no limit):', { default: 0, min: 0 });
  const pick = await c.p.select('Among the qualifying disks, install on the', [
    { name: 'smallest', value: 'smallest' as const },
    { name: 'largest', value: 'largest' as const },
  ]);
  const wipeExisting = await c.p.confirm('May the installer overwrite a disk that already has partitions?', {
    default: false,
  });
  const sizeGiB = await c.p.integer('LVM volume group size in GiB (0: none):', { default: 0, min: 0 });
  const part = {
    disk: { transport, ...(minGiB > 0 ? { minGiB } : {}), pick, wipeExisting },
    lvm: { sizeGiB },
  };
  checkSection('the disk answers', part);
  return part;
}

/** Section: hugepages, what happens after the install, and the serial console. */
async function askNode(c: Ctx): Promise<{ hugepages: number; console: Raw | null; afterInstall: string }> {
  const hugepages = await c.p.integer('2 MiB hugepages to reserve (0: none):', { default: 0, min: 0, max: 1_048_576 });
  const afterInstall = await c.p.select('After a successful install:', [
    { name: 'reboot', value: 'reboot' as const },
    { name: 'power off', value: 'poweroff' as const },
    { name: 'stay (keep the installer running)', value: 'stay' as const },
  ]);
  const consoleChoice = await c.p.select('Serial console:', [
    { name: 'ttyS0 at 115200', value: 'ttyS0' },
    { name: 'ttyS1 at 115200', value: 'ttyS1' },
    { name: 'none (screen only)', value: 'none' },
  ]);
  const part = {
    hugepages,
    console: consoleChoice === 'none' ? null : { port: consoleChoice, speed: 115200 },
    afterInstall,
  };
  checkSection('the node answers', part);
  return part;
}

/** Section: cloud-init extras (units to enable or disable, first-boot commands). */
async function askExtras(c: Ctx): Promise<Raw> {
  const cloudInit: Raw = {};
  if (
    await c.p.confirm('Add cloud-init extras (units to enable or disable, first-boot commands)?', { default: false })
  ) {
    const units = listOf((v) => checkField(unitName, v));
    const enable = splitList(await c.p.text('Units to enable (comma-separated):', { validate: units }));
    const disable = splitList(await c.p.text('Units to disable (comma-separated):', { validate: units }));
    const runcmd: string[] = [];
    for (;;) {
      const cmd = await c.p.text(`First-boot command ${runcmd.length + 1} (empty: done):`);
      if (cmd.trim() === '') break;
      runcmd.push(cmd);
    }
    cloudInit.services = { enable, disable };
    cloudInit.runcmd = runcmd;
    c.out.info('  files to write (cloudInit.writeFiles) can be added to the saved answers file.');
  }
  checkSection('the cloud-init answers', { cloudInit });
  return cloudInit;
}

/** Section: advanced settings, only when asked for; returns the keys to add (none by default). */
async function askAdvanced(c: Ctx): Promise<Raw> {
  const raw: Raw = {};
  if (
    !(await c.p.confirm('Change advanced settings (masked units, kernel args, tmpfs size, initramfs mode, user apps)?'))
  )
    return raw;
  raw.provisioningServices = splitList(
    await c.p.text('Provisioning units to mask in the installer:', {
      default: DEFAULT_MASKED_SERVICES.join(' '),
      validate: listOf((v) => checkField(unitName, v)),
    }),
  );
  raw.kernelArgs = splitList(
    await c.p.text('Extra kernel arguments (space-separated):', { validate: listOf((v) => checkField(kernelArg, v)) }),
  );
  raw.tmpfsSize = (
    await c.p.text('Size of the installer in-memory root:', {
      default: '1G',
      validate: (v) => checkField(tmpfsSize, v.trim()),
    })
  ).trim();
  raw.mode = await c.p.select('Initramfs change:', [
    { name: "auto (overlay when the bootkit's dracut layout is known, else rewrite)", value: 'auto' as const },
    { name: 'overlay (append an archive; vendor initramfs untouched)', value: 'overlay' as const },
    { name: 'rewrite (rebuild rootfs.tar.gz)', value: 'rewrite' as const },
  ]);
  const apps = (
    await c.p.text('User-apps directory to copy onto the media (empty: none):', {
      validate: optional((v) => (kindOf(c.abs(v)) === 'directory' ? true : `${c.abs(v)} is not a directory`)),
    })
  ).trim();
  if (apps) raw.userAppsDir = c.abs(apps);
  return checkSection('the advanced answers', raw);
}

/** Checks the whole (cross-field rules and files) and prints the summary; throws when it fails. */
async function checkAndSummarise(c: Ctx, raw: Raw): Promise<Answers> {
  const checked = await validateAnswers(raw, c.cwd, { force: true });
  if (!checked.answers) throw new ValidationError(checked.errors, 'the answers');
  c.out.info('');
  c.out.info('Summary:');
  for (const line of summaryLines(checked.answers)) c.out.info(line);
  for (const w of checked.warnings) c.out.warn(w);
  return checked.answers;
}

/** Section: where to save, and whether to build; returns what to do, or undefined when nothing is written. */
async function askSave(c: Ctx): Promise<{ file: string; force: boolean; next: 'build' | 'save' } | undefined> {
  const file = c.abs(
    await c.p.text('Save the answers as:', {
      default: 'answers.yaml',
      validate: (v) => (kindOf(dirname(c.abs(v))) === 'directory' ? true : `${dirname(c.abs(v))} is not a directory`),
    }),
  );
  let force = false;
  if (kindOf(file) !== 'missing') {
    force = await c.p.confirm(`${file} exists. Replace it?`, { default: false });
    if (!force) {
      c.out.info('nothing was written; run make-iso again to choose another file name');
      return undefined;
    }
  }
  const next = await c.p.select('Ready:', [
    { name: 'save the answers and build the ISO', value: 'build' as const },
    { name: 'save the answers only', value: 'save' as const },
    { name: 'quit without saving', value: 'quit' as const },
  ]);
  if (next === 'quit') {
    c.out.info('nothing was written');
    return undefined;
  }
  return { file, force, next };
}

export async function runWizard(d: WizardDeps): Promise<void> {
  const c: Ctx = {
    p: d.prompts,
    out: d.out,
    cwd: d.cwd,
    env: d.env,
    abs: (v) => resolve(d.cwd, v.trim().replace(/^~(?=\/)/, homedir())),
  };
  d.out.info('make-iso: answer each question (Enter keeps the default); Ctrl-C quits with nothing written.');
  const media = await askBootkitAndImage(c);
  const iso = await askIsoPath(c);
  const who = await askUser(c);
  const net = await askNetworkSection(c);
  const { disk, lvm } = await askDisk(c);
  const node = await askNode(c);
  const cloudInit = await askExtras(c);
  // the key order is the saved file's order
  const raw: Raw = {
    ...media,
    output: iso.output,
    ...who,
    ...net,
    disk,
    lvm,
    hugepages: node.hugepages,
    cloudInit,
    console: node.console,
    afterInstall: node.afterInstall,
  };
  Object.assign(raw, await askAdvanced(c));

  const answers = await checkAndSummarise(c, raw);
  const save = await askSave(c);
  if (!save) return;
  await writeAnswersFile(save.file, answersToYaml(raw, schemaModeline(dirname(save.file))), { force: save.force });
  d.out.info(`saved ${save.file} (mode 0600); build again any time with: make-iso --answers ${save.file}`);
  if (save.next === 'build') {
    await d.build(answers, save.file, iso.replaceIso);
    if (d.afterBuild) await d.afterBuild(answers.output.path, d.prompts);
  }
}
