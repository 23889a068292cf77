// Why: `make-iso` on a terminal with no arguments asks every question (with the schema's own
// checks at each prompt), shows a summary, saves the answers file 0600 and builds. Nothing is
// written before the final confirmation, so Ctrl-C anywhere leaves nothing behind.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { validateAnswers } from '../answers/load.js';
import { hashPassword } from '../answers/password.js';
import { schemaModeline } from '../answers/json-schema.js';
import {
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
import { writeAnswersFile } from '../answers/write.js';
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

export async function runWizard(d: WizardDeps): Promise<void> {
  const { prompts: p, cwd } = d;
  const abs = (v: string): string => resolve(cwd, v.trim().replace(/^~(?=\/)/, homedir()));
  const isFile: Validate<string> = (v) => {
    if (v.trim() === '') return 'a path is required';
    const k = kindOf(abs(v));
    return k === 'file' ? true : k === 'missing' ? `${abs(v)} does not exist` : `${abs(v)} is not a file`;
  };
  d.out.info('make-iso: answer each question (Enter keeps the default); Ctrl-C quits with nothing written.');

  // inputs
  const archive = abs(
    await p.text('Bootkit release (tar.gz):', {
      default: newestMatching(cwd, /^emb_uos.*\.tar\.gz$/) ?? newestMatching(cwd, /\.tar\.gz$/) ?? '',
      validate: isFile,
    }),
  );
  const bootkitSha = (
    await p.text('sha256 of the bootkit release (empty: do not check):', {
      validate: optional((v) => checkField(sha256Hex, v)),
    })
  ).trim();
  const image = abs(
    await p.text('OS image to install (*.raw.gz):', {
      default: newestMatching(cwd, /\.raw\.gz$/) ?? '',
      validate: isFile,
    }),
  );
  let imageSha = '';
  if (existsSync(`${image}.sha256sum`)) {
    d.out.info(`  its checksum is read from ${image}.sha256sum`);
  } else {
    imageSha = (
      await p.text('sha256 of the OS image (empty: computed, not checked):', {
        validate: optional((v) => checkField(sha256Hex, v)),
      })
    ).trim();
  }
  const output = abs(
    await p.text('ISO to write:', {
      default: 'make-iso.iso',
      validate: (v) => {
        const k = kindOf(dirname(abs(v)));
        if (k !== 'directory') return `${dirname(abs(v))} is not an existing directory`;
        return kindOf(abs(v)) === 'directory' ? `${abs(v)} is a directory` : true;
      },
    }),
  );

  let replaceIso = false;
  if (kindOf(output) === 'file') {
    replaceIso = await p.confirm(`${output} exists. Replace it when building?`, { default: false });
    if (!replaceIso) d.out.warn('the build will stop unless another ISO path is chosen; Ctrl-C to start over');
  }

  // user
  const name = (
    await p.text('User to create on the node:', {
      default: 'edge',
      validate: (v) =>
        RESERVED_USERS.has(v.trim()) ? `"${v.trim()}" is a system account` : checkField(userName, v.trim()),
    })
  ).trim();
  let passwordHash: string | undefined;
  for (;;) {
    const pw = await p.secret(`Password for ${name} (empty: ssh keys only):`);
    if (pw === '') break;
    const again = await p.secret('Password again:');
    if (pw === again) {
      passwordHash = hashPassword(pw);
      break;
    }
    d.out.warn('the two passwords differ; try again');
  }
  const defaultKey = ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub']
    .map((f) => join(homedir(), '.ssh', f))
    .find((f) => kindOf(f) === 'file');
  const keyAnswer = await p.text('SSH public key, or a .pub file (empty: none):', {
    ...(defaultKey ? { default: defaultKey } : {}),
    validate: (v) => {
      const key = sshKeyFrom(v, cwd);
      if (key === '') return passwordHash ? true : 'without a password, an ssh key is needed to log in';
      return checkField(sshKey, key);
    },
  });
  const key = sshKeyFrom(keyAnswer, cwd);
  const host = (
    await p.text('Host name (empty: keep the image default):', { validate: optional((v) => checkField(hostname, v)) })
  ).trim();

  // network
  const mode = await p.select('Network:', [
    { name: 'DHCP', value: 'dhcp' as const },
    { name: 'static address', value: 'static' as const },
  ]);
  const network: Record<string, unknown> = { mode };
  const iface = (
    await p.text('Interface (empty: the first with a carrier):', {
      validate: optional((v) => (/^[A-Za-z0-9_.:-]{1,15}$/.test(v) ? true : 'not an interface name')),
    })
  ).trim();
  if (iface) network.interface = iface;
  if (mode === 'static') {
    network.address = (await p.text('Address:', { validate: (v) => checkField(ipAddress, v.trim()) })).trim();
    network.prefix = await p.integer('Prefix length (24 is 255.255.255.0):', { default: 24, min: 0, max: 128 });
    network.gateway = (await p.text('Gateway:', { validate: (v) => checkField(ipAddress, v.trim()) })).trim();
  }
  network.dns = splitList(
    await p.text('DNS servers (comma-separated, empty: none):', {
      validate: listOf((v) => checkField(ipAddress, v)),
    }),
  );
  const envProxy = d.env.https_proxy ?? d.env.HTTPS_PROXY ?? d.env.http_proxy ?? d.env.HTTP_PROXY;
  const proxy: Record<string, string> = {};
  if (await p.confirm('Does the node need a proxy?', { default: Boolean(envProxy) })) {
    const http = await p.text('HTTP proxy URL:', {
      default: d.env.http_proxy ?? d.env.HTTP_PROXY ?? '',
      validate: optional((v) => checkField(proxyUrl, v)),
    });
    const https = await p.text('HTTPS proxy URL:', {
      default: d.env.https_proxy ?? d.env.HTTPS_PROXY ?? http,
      validate: optional((v) => checkField(proxyUrl, v)),
    });
    const noProxy = await p.text('No proxy for (comma-separated):', {
      default: d.env.no_proxy ?? d.env.NO_PROXY ?? 'localhost,127.0.0.1',
      validate: (v) => (/^[^\s'"\\]*$/.test(v.trim()) ? true : 'no spaces, quotes or backslashes'),
    });
    if (http.trim()) proxy.http = http.trim();
    if (https.trim()) proxy.https = https.trim();
    if (noProxy.trim()) proxy.noProxy = noProxy.trim();
  }
  const ntp = splitList(
    await p.text('NTP servers (comma-separated, empty: image default):', {
      validate: listOf((v) => checkField(hostOrIp, v)),
    }),
  );
  const hostType = await p.select('What does the node run?', [
    { name: 'Kubernetes', value: 'kubernetes' as const },
    { name: 'containers', value: 'container' as const },
  ]);

  // disk
  d.out.info('Target disk: the install media is never a candidate.');
  const transport = await p.multi(
    'Allowed disk types (none selected: any):',
    DISK_TRANSPORTS.map((t) => ({ name: t, value: t })),
  );
  const minGiB = await p.integer('Smallest acceptable disk in GiB (0: no limit):', { default: 0, min: 0 });
  const pick = await p.select('Among the qualifying disks, install on the', [
    { name: 'smallest', value: 'smallest' as const },
    { name: 'largest', value: 'largest' as const },
  ]);
  const wipeExisting = await p.confirm('May the installer overwrite a disk that already has partitions?', {
    default: false,
  });
  const lvmSize = await p.integer('LVM volume group size in GiB (0: none):', { default: 0, min: 0 });
  const hugepages = await p.integer('2 MiB hugepages to reserve (0: none):', { default: 0, min: 0, max: 1_048_576 });
  const afterInstall = await p.select('After a successful install:', [
    { name: 'reboot', value: 'reboot' as const },
    { name: 'power off', value: 'poweroff' as const },
    { name: 'stay (keep the installer running)', value: 'stay' as const },
  ]);
  const consoleChoice = await p.select('Serial console:', [
    { name: 'ttyS0 at 115200', value: 'ttyS0' },
    { name: 'ttyS1 at 115200', value: 'ttyS1' },
    { name: 'none (screen only)', value: 'none' },
  ]);

  // cloud-init extras
  const cloudInit: Record<string, unknown> = {};
  if (await p.confirm('Add cloud-init extras (units to enable or disable, first-boot commands)?', { default: false })) {
    const units = listOf((v) => checkField(unitName, v));
    const enable = splitList(await p.text('Units to enable (comma-separated):', { validate: units }));
    const disable = splitList(await p.text('Units to disable (comma-separated):', { validate: units }));
    const runcmd: string[] = [];
    for (;;) {
      const cmd = await p.text(`First-boot command ${runcmd.length + 1} (empty: done):`);
      if (cmd.trim() === '') break;
      runcmd.push(cmd);
    }
    cloudInit.services = { enable, disable };
    cloudInit.runcmd = runcmd;
    d.out.info('  files to write (cloudInit.writeFiles) can be added to the saved answers file.');
  }

  // advanced
  const raw: Record<string, unknown> = {
    bootkit: { archive, ...(bootkitSha ? { sha256: bootkitSha.toLowerCase() } : {}) },
    osImage: { path: image, ...(imageSha ? { sha256: imageSha.toLowerCase() } : {}) },
    output: { path: output },
    user: { name, ...(passwordHash ? { passwordHash } : {}), sshKeys: key ? [key] : [] },
    ...(host ? { hostname: host } : {}),
    proxy,
    network,
    ntp: { servers: ntp },
    hostType,
    disk: { transport, ...(minGiB > 0 ? { minGiB } : {}), pick, wipeExisting },
    lvm: { sizeGiB: lvmSize },
    hugepages,
    cloudInit,
    console: consoleChoice === 'none' ? null : { port: consoleChoice, speed: 115200 },
    afterInstall,
  };
  if (await p.confirm('Change advanced settings (masked units, kernel args, tmpfs size, initramfs mode, user apps)?')) {
    raw.provisioningServices = splitList(
      await p.text('Provisioning units to mask in the installer:', {
        default: DEFAULT_MASKED_SERVICES.join(' '),
        validate: listOf((v) => checkField(unitName, v)),
      }),
    );
    raw.kernelArgs = splitList(
      await p.text('Extra kernel arguments (space-separated):', { validate: listOf((v) => checkField(kernelArg, v)) }),
    );
    raw.tmpfsSize = (
      await p.text('Size of the installer in-memory root:', {
        default: '1G',
        validate: (v) => checkField(tmpfsSize, v.trim()),
      })
    ).trim();
    raw.mode = await p.select('Initramfs change:', [
      { name: "auto (overlay when the bootkit's dracut layout is known, else rewrite)", value: 'auto' as const },
      { name: 'overlay (append an archive; vendor initramfs untouched)', value: 'overlay' as const },
      { name: 'rewrite (rebuild rootfs.tar.gz)', value: 'rewrite' as const },
    ]);
    const apps = (
      await p.text('User-apps directory to copy onto the media (empty: none):', {
        validate: optional((v) => (kindOf(abs(v)) === 'directory' ? true : `${abs(v)} is not a directory`)),
      })
    ).trim();
    if (apps) raw.userAppsDir = abs(apps);
  }

  // check the whole, summarise, confirm, save, build
  const checked = await validateAnswers(raw, cwd, { force: true });
  if (!checked.answers) throw new ValidationError(checked.errors, 'the answers');
  const answers = checked.answers;
  d.out.info('');
  d.out.info('Summary:');
  for (const line of summaryLines(answers)) d.out.info(line);
  for (const w of checked.warnings) d.out.warn(w);

  const file = abs(
    await p.text('Save the answers as:', {
      default: 'answers.yaml',
      validate: (v) => (kindOf(dirname(abs(v))) === 'directory' ? true : `${dirname(abs(v))} is not a directory`),
    }),
  );
  let force = false;
  if (kindOf(file) !== 'missing') {
    force = await p.confirm(`${file} exists. Replace it?`, { default: false });
    if (!force) {
      d.out.info('nothing was written; run make-iso again to choose another file name');
      return;
    }
  }
  const next = await p.select('Ready:', [
    { name: 'save the answers and build the ISO', value: 'build' as const },
    { name: 'save the answers only', value: 'save' as const },
    { name: 'quit without saving', value: 'quit' as const },
  ]);
  if (next === 'quit') {
    d.out.info('nothing was written');
    return;
  }
  await writeAnswersFile(file, answersToYaml(raw, schemaModeline(dirname(file))), { force });
  d.out.info(`saved ${file} (mode 0600); build again any time with: make-iso --answers ${file}`);
  if (next === 'build') {
    await d.build(answers, file, replaceIso);
    if (d.afterBuild) await d.afterBuild(answers.output.path, p);
  }
}
