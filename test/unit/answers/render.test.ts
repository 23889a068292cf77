// Why: install.env follows docs/contracts.md key for key, hostile values reach bash byte-identical
// and run nothing, cloud-init extras are YAML, and the manifest copy holds no secrets.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { answersSchema, type Answers } from '../../../src/answers/schema.js';
import {
  answersDigest,
  canonicalJson,
  installEnvEntries,
  redactAnswers,
  renderInstallerConfig,
} from '../../../src/render/installer-config.js';
import { shellAssign, shellQuote } from '../../../src/render/shell.js';
import { projectRoot } from '../../../src/version.js';
import { ED25519, HASH } from './helpers.js';

const ctx = { osImageName: 'emt.raw.gz', osImageSha256: 'AB'.repeat(32), version: '1.2.3' };

function answers(extra: Record<string, unknown> = {}): Answers {
  return answersSchema.parse({
    bootkit: { archive: '/in/boot.tar.gz' },
    osImage: { path: '/in/emt.raw.gz' },
    user: { name: 'edge', passwordHash: HASH, sshKeys: [ED25519] },
    ...extra,
  });
}

/** Sources a file under `set -euo pipefail` and prints each named variable NUL-separated. */
function sourceAndRead(envFile: string, names: string[], cwd: string): Map<string, string | string[]> {
  const script = `set -euo pipefail
source "$1"
shift
for n in "$@"; do
  decl=$(declare -p "$n")
  if [[ $decl == "declare -a"* ]]; then
    declare -n ref="$n"
    printf 'A%s\\0%s\\0' "$n" "\${#ref[@]}"
    for v in "\${ref[@]}"; do printf '%s\\0' "$v"; done
    unset -n ref
  else
    printf 'S%s\\0%s\\0' "$n" "\${!n}"
  fi
done`;
  const out = execFileSync('bash', ['-c', script, 'bash', envFile, ...names], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent-home' },
  });
  const parts = out.toString('utf8').split('\0');
  const result = new Map<string, string | string[]>();
  let i = 0;
  while (i < parts.length - 1) {
    const head = parts[i++] ?? '';
    const name = head.slice(1);
    if (head.startsWith('A')) {
      const count = Number(parts[i++]);
      result.set(name, parts.slice(i, i + count));
      i += count;
    } else {
      result.set(name, parts[i++] ?? '');
    }
  }
  return result;
}

describe('shell quoting', () => {
  test('single quotes', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe(`''`);
    expect(shellQuote('a\nb')).toBe(`'a\nb'`);
    expect(shellAssign('X', ['a', "b'c"])).toBe(`X=('a' 'b'\\''c')`);
    expect(shellAssign('X', [])).toBe('X=()');
    expect(() => shellAssign('1X', 'a')).toThrow(/not a shell variable name/);
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});

describe('install.env', () => {
  test('has exactly the keys of docs/contracts.md, in order, every one present', () => {
    const contract = readFileSync(join(projectRoot, 'docs/contracts.md'), 'utf8');
    const section = contract.slice(contract.indexOf('## `/etc/make-iso/install.env`'));
    const table = section.slice(0, section.indexOf('\n## ', 5));
    const keys = [...table.matchAll(/`(MI_[A-Z0-9_]+)`/g)].map((m) => m[1]);
    const env = renderInstallerConfig(answers(), ctx).installEnv;
    const rendered = [...env.matchAll(/^(MI_[A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(rendered).toEqual(keys);
  });

  test('values as the installer sees them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mi-env-'));
    const a = answers({
      network: { mode: 'static', address: '10.0.0.5', prefix: 24, gateway: '10.0.0.1', dns: ['1.1.1.1', '9.9.9.9'] },
      disk: { transport: ['nvme', 'sata'], minGiB: 64, rotational: false, serial: ['S4*'] },
      lvm: { sizeGiB: 20 },
      userAppsDir: '/in/apps',
      cloudInit: { runcmd: ['true'] },
    });
    const { installEnv, cloudInit } = renderInstallerConfig(a, ctx);
    writeFileSync(join(dir, 'install.env'), installEnv);
    const names = installEnvEntries(a, ctx).map(([n]) => n);
    const v = sourceAndRead(join(dir, 'install.env'), names, dir);
    expect(Object.fromEntries(v)).toMatchObject({
      MI_VERSION: '1.2.3',
      MI_OS_IMAGE: 'images/emt.raw.gz',
      MI_OS_IMAGE_SHA256: 'ab'.repeat(32),
      MI_USER_NAME: 'edge',
      MI_USER_PASSWORD_HASH: HASH,
      MI_SSH_KEYS: [ED25519],
      MI_HOSTNAME: '',
      MI_HTTP_PROXY: '',
      MI_NET_MODE: 'static',
      MI_NET_ADDRESS: '10.0.0.5',
      MI_NET_PREFIX: '24',
      MI_NET_GATEWAY: '10.0.0.1',
      MI_NET_DNS: ['1.1.1.1', '9.9.9.9'],
      MI_NTP_SERVERS: [],
      MI_HOST_TYPE: 'kubernetes',
      MI_LVM_SIZE_GIB: '20',
      MI_HUGEPAGES: '0',
      MI_DISK_MATCH: 'any',
      MI_DISK_PICK: 'smallest',
      MI_DISK_SERIAL: ['S4*'],
      MI_DISK_TRANSPORT: ['nvme', 'sata'],
      MI_DISK_MIN_GIB: '64',
      MI_DISK_MAX_GIB: '',
      MI_DISK_ROTATIONAL: 'no',
      MI_DISK_WIPE_EXISTING: 'no',
      MI_AFTER_INSTALL: 'reboot',
      MI_CLOUD_INIT: 'yes',
      MI_USER_APPS_DIR: 'user-apps',
    });
    expect(cloudInit).toBeDefined();
    expect(renderInstallerConfig(answers(), ctx).cloudInit).toBeUndefined();
  });
});

describe('hostile strings', () => {
  const HOSTILE = [
    `'`,
    `"`,
    `$(touch CANARY)`,
    '`touch CANARY`',
    'a\nb\n',
    '; rm -rf / ; touch CANARY',
    '$HOME',
    '\\',
    '\\\'\\"',
    "'; touch CANARY; echo '",
    '${HOME:-x}$((1+1))',
    'ünïcødé ✓ 日本 🚀',
    '\t tab and  spaces ',
    '!history',
    '*',
    '-e',
    '',
  ];

  test('every string that reaches install.env arrives byte-identical and runs nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mi-hostile-'));
    // Every free-text value of the contract, filled through the same renderer the build uses.
    // Schema-restricted fields (user name, IPs, ...) would refuse these strings; the renderer
    // must be safe on its own, so we feed it answers that bypass the schema.
    const base = answers();
    for (const [i, s] of HOSTILE.entries()) {
      const hostile: Answers = {
        ...base,
        hostname: s,
        user: { name: s, passwordHash: s, sshKeys: [s, `${s}2`] },
        proxy: { http: s, https: s, noProxy: s },
        network: { mode: 'static', interface: s, address: s, prefix: 24, gateway: s, dns: [s, s] },
        ntp: { servers: [s] },
        disk: { ...base.disk, byId: [s], byPath: [s], serial: [s], wwn: [s], model: [s] },
      };
      const c = { osImageName: `x/${s}`, osImageSha256: s.toLowerCase(), version: s };
      const entries = installEnvEntries(hostile, c);
      writeFileSync(join(dir, 'install.env'), renderInstallerConfig(hostile, c).installEnv);
      const got = sourceAndRead(
        join(dir, 'install.env'),
        entries.map(([n]) => n),
        dir,
      );
      for (const [name, value] of entries) {
        const want = Array.isArray(value) ? value : String(value);
        expect(got.get(name), `${name} with hostile #${i} ${JSON.stringify(s)}`).toEqual(want);
      }
      expect(existsSync(join(dir, 'CANARY')), `hostile #${i} ran a command`).toBe(false);
    }
  });

  test('every string the schema accepts in cloud-init extras survives the YAML', () => {
    const a = answers({
      cloudInit: {
        writeFiles: HOSTILE.map((s, i) => ({ path: `/etc/x${i}${s.replace(/[\n\t]/g, '')}`, content: s })),
        runcmd: [...HOSTILE, HOSTILE],
        services: { enable: ['a@b.service'], disable: ['c'] },
      },
    });
    const doc = parse(renderInstallerConfig(a, ctx).cloudInit ?? '') as {
      write_files: Array<{ path: string; content: string; permissions: string }>;
      runcmd: Array<string | string[]>;
    };
    expect(doc.write_files.map((f) => f.content)).toEqual(HOSTILE);
    expect(doc.write_files[0]?.permissions).toBe('0644');
    expect(doc.runcmd).toEqual([
      ['systemctl', 'enable', '--now', 'a@b.service'],
      ['systemctl', 'disable', '--now', 'c'],
      ...HOSTILE,
      HOSTILE,
    ]);
    expect(renderInstallerConfig(a, ctx).cloudInit?.startsWith('#cloud-config\n')).toBe(true);
  });
});

describe('redaction and digest', () => {
  test('no secrets and no host paths in the manifest copy', () => {
    const a = answers({
      proxy: { http: 'http://alice:s3cret@proxy:3128' },
      cloudInit: { writeFiles: [{ path: '/etc/token', content: 'TOKEN-123' }] },
    });
    const text = canonicalJson(redactAnswers(a));
    expect(text).not.toContain(HASH);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('TOKEN-123');
    expect(text).not.toContain('/in/');
    expect(text).toContain('http://<redacted>@proxy:3128');
    expect(text).toContain('"archive":"boot.tar.gz"');
  });

  test('digest is stable, ignores where inputs sit, and changes with settings', () => {
    const a = answers();
    expect(answersDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(answersDigest(a)).toBe(answersDigest(answers()));
    expect(answersDigest({ ...a, bootkit: { archive: '/elsewhere/boot.tar.gz' } })).toBe(answersDigest(a));
    // where the ISO goes is not part of what it is (same inputs, same ISO bytes)
    expect(answersDigest({ ...a, output: { ...a.output, path: '/other/name.iso' } })).toBe(answersDigest(a));
    expect(answersDigest({ ...a, hugepages: 2 })).not.toBe(answersDigest(a));
  });
});

describe('the installer accepts what we render', () => {
  // installer-scripts/lib/config.sh checks the syntax, sources and validates install.env on the node
  const configSh = join(projectRoot, 'installer-scripts/lib/config.sh');
  const variants: Array<[string, Record<string, unknown>]> = [
    ['defaults', {}],
    [
      'everything set',
      {
        hostname: 'node-1.example.com',
        proxy: { http: 'http://u:p@proxy:3128', https: 'http://proxy:3128', noProxy: 'localhost,10.0.0.0/8' },
        network: { mode: 'static', interface: 'enp1s0', address: '10.0.0.5', prefix: 24, gateway: '10.0.0.1' },
        ntp: { servers: ['pool.ntp.org', '10.0.0.1', 'fe80::1'] },
        disk: {
          match: 'all',
          byId: ["nvme-*'x"],
          serial: ['S4*'],
          transport: ['nvme', 'usb'],
          minGiB: 10,
          maxGiB: 2000,
          rotational: true,
          pick: 'largest',
          wipeExisting: true,
        },
        lvm: { sizeGiB: 5 },
        hugepages: 3,
        afterInstall: 'stay',
        userAppsDir: '/x/apps',
        cloudInit: { runcmd: ['x'] },
      },
    ],
    [
      'ssh key only, IPv6',
      {
        user: { name: 'ops', sshKeys: [ED25519] },
        network: { mode: 'static', address: '2001:db8::5', prefix: 64, gateway: '2001:db8::1' },
      },
    ],
  ];
  test.skipIf(!existsSync(configSh)).each(variants)('%s', (_name, extra) => {
    const dir = mkdtempSync(join(tmpdir(), 'mi-contract-'));
    const a = answers(extra);
    writeFileSync(
      join(dir, 'install.env'),
      renderInstallerConfig(a, {
        osImageName: 'images/emt-3.0.raw.gz',
        osImageSha256: 'ab'.repeat(32),
        version: '1.0.0',
      }).installEnv,
    );
    const script = `source "$1"; if config_load "$2"; then echo OK; else printf '%s\\n' "\${CONFIG_ERRORS[@]}"; fi`;
    const out = execFileSync('bash', ['-c', script, 'bash', configSh, join(dir, 'install.env')]).toString();
    expect(out.trim()).toBe('OK');
  });
});

describe('EMT runtime answers', () => {
  test('sudo defaults to nopasswd for a key-only user and password with a hash; password without a hash is refused', () => {
    const env = (a: Answers) => Object.fromEntries(installEnvEntries(a, ctx));
    expect(env(answers()).MI_USER_SUDO).toBe('password');
    expect(env(answers({ user: { name: 'edge', sshKeys: [ED25519] } })).MI_USER_SUDO).toBe('nopasswd');
    expect(env(answers({ user: { name: 'edge', passwordHash: HASH, sudo: 'none' } })).MI_USER_SUDO).toBe('none');
    const bad = answersSchema.safeParse({ ...answers(), user: { name: 'edge', sshKeys: [ED25519], sudo: 'password' } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['user', 'sudo']);
  });

  test('persistent.sizeGiB: unset grows (empty), a number is kept as is', () => {
    const env = (a: Answers) => Object.fromEntries(installEnvEntries(a, ctx));
    expect(env(answers()).MI_PERSISTENT_SIZE_GIB).toBe('');
    expect(env(answers({ persistent: { sizeGiB: 0 } })).MI_PERSISTENT_SIZE_GIB).toBe('0');
  });

  test('writeFiles append reaches the cloud-config only when set', () => {
    const doc = parse(
      renderInstallerConfig(
        answers({
          cloudInit: {
            writeFiles: [
              { path: '/etc/a', content: 'x\n', append: true },
              { path: '/etc/b', content: 'y\n' },
            ],
          },
        }),
        ctx,
      ).cloudInit ?? '',
    ) as { write_files: Array<Record<string, unknown>> };
    expect(doc.write_files[0]).toMatchObject({ path: '/etc/a', append: true });
    expect(doc.write_files[1]).not.toHaveProperty('append');
  });
});

describe('kubernetes (k3s bundle checked by the build)', () => {
  const k3sCtx = {
    ...ctx,
    k3s: {
      isoDir: 'k3s-bundle',
      checksums: [
        { name: 'k3s', sha256: 'a'.repeat(64) },
        { name: 'install.sh', sha256: 'b'.repeat(64) },
      ],
    },
  };
  const k8s = () =>
    answers({
      hostType: 'kubernetes',
      kubernetes: {
        nodeIp: '10.0.0.5',
        interface: 'enp1s0',
        extraArgs: ['--disable=traefik'],
        registryMirrors: { 'docker.io': ['https://mirror.example:5000'] },
      },
    });

  test('install.env names the bundle, its checksums, data dir and extra arguments; config.yaml and registries.yaml', () => {
    const env = new Map(installEnvEntries(k8s(), k3sCtx));
    expect(env.get('MI_K3S_BUNDLE')).toBe('k3s-bundle');
    expect(env.get('MI_K3S_SHA256S')).toEqual([`${'a'.repeat(64)}  k3s`, `${'b'.repeat(64)}  install.sh`]);
    expect(env.get('MI_K3S_DATA_DIR')).toBe('/opt/rancher/k3s');
    expect(env.get('MI_K3S_EXTRA_ARGS')).toEqual(['--disable=traefik']);
    const c = renderInstallerConfig(k8s(), k3sCtx);
    expect(parse(c.k3sConfig!)).toEqual({
      'data-dir': '/opt/rancher/k3s',
      'write-kubeconfig-mode': '0600',
      'node-ip': '10.0.0.5',
      'flannel-iface': 'enp1s0',
    });
    expect(parse(c.k3sRegistries!)).toEqual({
      mirrors: { 'docker.io': { endpoint: ['https://mirror.example:5000'] } },
    });
  });

  test('without a checked bundle: no k3s keys set, no k3s files', () => {
    const env = new Map(installEnvEntries(k8s(), ctx));
    expect([env.get('MI_K3S_BUNDLE'), env.get('MI_K3S_SHA256S'), env.get('MI_K3S_EXTRA_ARGS')]).toEqual(['', [], []]);
    const c = renderInstallerConfig(k8s(), ctx);
    expect(c.k3sConfig).toBeUndefined();
    expect(c.k3sRegistries).toBeUndefined();
  });

  test('the installer accepts the k3s keys, and refuses a data dir outside /opt', () => {
    const configSh = join(projectRoot, 'installer-scripts/lib/config.sh');
    const dir = mkdtempSync(join(tmpdir(), 'mi-k3s-'));
    const script = `source "$1"; if config_load "$2"; then echo OK; else printf '%s\\n' "\${CONFIG_ERRORS[@]}"; fi`;
    const check = (text: string) => {
      writeFileSync(join(dir, 'install.env'), text);
      return execFileSync('bash', ['-c', script, 'bash', configSh, join(dir, 'install.env')])
        .toString()
        .trim();
    };
    const env = renderInstallerConfig(k8s(), k3sCtx).installEnv;
    expect(check(env)).toBe('OK');
    expect(check(env.replace("MI_K3S_DATA_DIR='/opt/rancher/k3s'", "MI_K3S_DATA_DIR='/var/lib/rancher'"))).toBe(
      'MI_K3S_DATA_DIR: must be a directory under /opt',
    );
  });

  test('the schema keeps k3s data under /opt and arguments plain', () => {
    expect(() => answers({ kubernetes: { dataDir: '/var/lib/rancher/k3s' } })).toThrow(/under \/opt/);
    expect(() => answers({ kubernetes: { extraArgs: ['--a b'] } })).toThrow(/one k3s argument/);
  });
});

test('the redacted answers hold the k3s bundle by name and no registry credentials', () => {
  const r = redactAnswers(
    answers({
      kubernetes: {
        bundle: '/home/me/k3s/bundle.tar',
        registryMirrors: { 'docker.io': ['https://u:pw@mirror.example'] },
      },
    }),
  ) as { kubernetes: { bundle: string; registryMirrors: Record<string, string[]> } };
  expect(r.kubernetes.bundle).toBe('bundle.tar');
  expect(r.kubernetes.registryMirrors['docker.io']).toEqual(['https://<redacted>@mirror.example']);
});
