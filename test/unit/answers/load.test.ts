// Why: the answers contract users see: defaults, every invalid field, did-you-mean, all problems at once.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { didYouMean, editDistance, loadAnswers, parseAnswers, validateAnswers } from '../../../src/answers/load.js';
import { DEFAULT_MASKED_SERVICES } from '../../../src/answers/schema.js';
import { checkChecksums } from '../../../src/answers/rules.js';
import { ECDSA, ED25519, HASH, inputsDir, minimal } from './helpers.js';

const dir = inputsDir();

async function problems(patch: (a: Record<string, unknown>) => void): Promise<string[]> {
  const a = minimal();
  patch(a);
  const r = await validateAnswers(a, dir);
  return r.errors;
}

describe('a valid file', () => {
  test('gets every default and absolute paths', async () => {
    const r = await validateAnswers(minimal(), dir);
    expect(r.errors).toEqual([]);
    const a = r.answers!;
    expect(a.bootkit.archive).toBe(join(dir, 'boot.tar.gz'));
    expect(a.osImage.path).toBe(join(dir, 'emt.raw.gz'));
    expect(a.output.path).toBe(join(dir, 'make-iso.iso'));
    expect(a.network).toEqual({ mode: 'dhcp', dns: [] });
    expect(a.hostType).toBe('kubernetes');
    expect(a.disk).toMatchObject({ match: 'any', pick: 'smallest', wipeExisting: false, byId: [] });
    expect(a.lvm.sizeGiB).toBe(0);
    expect(a.hugepages).toBe(0);
    expect(a.provisioningServices).toEqual([...DEFAULT_MASKED_SERVICES]);
    expect(a.console).toEqual({ port: 'ttyS0', speed: 115200 });
    expect(a.afterInstall).toBe('reboot');
    expect(a.mode).toBe('auto');
    expect(a.tmpfsSize).toBe('1G');
  });

  test('a full YAML file loads, relative paths against the file', async () => {
    const file = join(dir, 'answers.yaml');
    writeFileSync(
      file,
      `# yaml-language-server: $schema=../answers.schema.json
bootkit: { archive: ./boot.tar.gz }
osImage: { path: emt.raw.gz }
output: { path: out.iso }
user:
  name: edge
  passwordHash: '${HASH}'
  sshKeys:
    - ${ED25519}
    - '${ECDSA}'
hostname: node-1.example.com
proxy: { http: 'http://proxy:3128', https: 'http://proxy:3128', noProxy: 'localhost,10.0.0.0/8' }
network: { mode: static, interface: enp1s0, address: 10.0.0.5, prefix: 24, gateway: 10.0.0.1, dns: [10.0.0.1, '2001:db8::1'] }
ntp: { servers: [pool.ntp.org, 10.0.0.1] }
hostType: container
disk: { match: all, transport: [nvme], minGiB: 100, maxGiB: 2000, rotational: false, pick: largest, serial: ['S4*'] }
lvm: { sizeGiB: 50 }
hugepages: 512
cloudInit:
  services: { enable: [docker], disable: [snapd.service] }
  writeFiles: [{ path: /etc/motd, permissions: '0644', content: "hello\\n" }]
  runcmd: ['echo hi', [touch, /tmp/x]]
provisioningServices: [tink-worker]
kernelArgs: [usbcore.autosuspend=-1]
console: { port: ttyS1, speed: 9600 }
afterInstall: poweroff
userAppsDir: apps
tmpfsSize: 2G
mode: rewrite
`,
      { mode: 0o600 },
    );
    const r = await loadAnswers(file);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.answers?.userAppsDir).toBe(join(dir, 'apps'));
    expect(r.answers?.output.path).toBe(join(dir, 'out.iso'));
    expect(r.answers?.user.sshKeys).toHaveLength(2);
  });

  test('JSON is accepted too', async () => {
    const r = await parseAnswers(JSON.stringify(minimal()), dir);
    expect(r.errors).toEqual([]);
  });

  test('kernel + initramfs instead of an archive', async () => {
    const errs = await problems((a) => {
      a.bootkit = { kernel: 'boot.tar.gz', initramfs: 'emt.raw.gz' };
    });
    expect(errs).toEqual([]);
  });

  test('overrides from flags win over the file', async () => {
    const r = await validateAnswers(minimal(), dir, {
      overrides: [{ path: ['output', 'path'], value: join(dir, 'flag.iso') }],
    });
    expect(r.answers?.output.path).toBe(join(dir, 'flag.iso'));
  });
});

describe('each invalid field is reported at its path', () => {
  const cases: Array<[string, (a: Record<string, unknown>) => void, RegExp]> = [
    ['user.name', (a) => (a.user = { name: 'Bad Name', passwordHash: HASH }), /^user\.name: must be a POSIX user name/],
    [
      'user.name reserved',
      (a) => (a.user = { name: 'root', passwordHash: HASH }),
      /^user\.name: "root" is a system account/,
    ],
    [
      'plain password',
      (a) => (a.user = { name: 'edge', passwordHash: 'hunter2' }),
      /^user\.passwordHash: is not a SHA-512 crypt hash.*make-iso hash-password.*openssl passwd -6/,
    ],
    [
      'md5 hash',
      (a) => (a.user = { name: 'edge', passwordHash: '$1$abc$def' }),
      /^user\.passwordHash: is not a SHA-512/,
    ],
    ['nobody can log in', (a) => (a.user = { name: 'edge' }), /^user: give user\.passwordHash, user\.sshKeys/],
    [
      'ssh key type',
      (a) => (a.user = { name: 'edge', sshKeys: ['ssh-foo AAAA x'] }),
      /^user\.sshKeys\[0\]: must be one public key line/,
    ],
    [
      'ssh key blob',
      (a) => (a.user = { name: 'edge', sshKeys: [ED25519.replace('ssh-ed25519', 'ssh-rsa')] }),
      /^user\.sshKeys\[0\]: the base64 part is not a public key/,
    ],
    [
      'ssh key two lines',
      (a) => (a.user = { name: 'edge', sshKeys: [`${ED25519}\n${ED25519}`] }),
      /^user\.sshKeys\[0\]: must be one public key line/,
    ],
    ['hostname', (a) => (a.hostname = 'bad_host!'), /^hostname: must be a host name/],
    ['proxy', (a) => (a.proxy = { http: 'proxy:3128' }), /^proxy\.http: must be a proxy URL/],
    ['network.mode', (a) => (a.network = { mode: 'manual' }), /^network\.mode: must be one of: dhcp, static/],
    ['dns', (a) => (a.network = { dns: ['8.8.8.300'] }), /^network\.dns\[0\]: must be an IPv4 or IPv6 address/],
    [
      'static without parts',
      (a) => (a.network = { mode: 'static' }),
      /^network\.address: is required when network\.mode is static/,
    ],
    [
      'ipv4 prefix',
      (a) => (a.network = { mode: 'static', address: '10.0.0.2', prefix: 33, gateway: '10.0.0.1' }),
      /^network\.prefix: 33 is too long/,
    ],
    [
      'gateway family',
      (a) => (a.network = { mode: 'static', address: '10.0.0.2', prefix: 24, gateway: 'fe80::1' }),
      /^network\.gateway: must be the same IP version/,
    ],
    ['ntp', (a) => (a.ntp = { servers: ['not a host'] }), /^ntp\.servers\[0\]: must be a host name or an IP address/],
    ['hostType', (a) => (a.hostType = 'vm'), /^hostType: must be one of: kubernetes, container/],
    ['transport', (a) => (a.disk = { transport: ['floppy'] }), /^disk\.transport\[0\]: must be one of: nvme, sata/],
    ['disk range', (a) => (a.disk = { minGiB: 500, maxGiB: 100 }), /^disk\.minGiB: 500 is larger than disk\.maxGiB/],
    ['disk size int', (a) => (a.disk = { minGiB: 1.5 }), /^disk\.minGiB: must be a whole number/],
    ['lvm negative', (a) => (a.lvm = { sizeGiB: -1 }), /^lvm\.sizeGiB: must be at least 0/],
    ['lvm string', (a) => (a.lvm = { sizeGiB: '10' }), /^lvm\.sizeGiB: must be a number \(got string\)/],
    [
      'lvm fits',
      (a) => ((a.lvm = { sizeGiB: 200 }), (a.disk = { maxGiB: 100 })),
      /^lvm\.sizeGiB: 200 GiB does not fit/,
    ],
    ['hugepages', (a) => (a.hugepages = 1.5), /^hugepages: must be a whole number/],
    [
      'write_files permissions as a number',
      (a) => (a.cloudInit = { writeFiles: [{ path: '/etc/x', permissions: 644, content: '' }] }),
      /^cloudInit\.writeFiles\[0\]\.permissions: must be a string/,
    ],
    [
      'write_files relative path',
      (a) => (a.cloudInit = { writeFiles: [{ path: 'etc/x' }] }),
      /^cloudInit\.writeFiles\[0\]\.path: must be an absolute path/,
    ],
    [
      'service both ways',
      (a) => (a.cloudInit = { services: { enable: ['x'], disable: ['x'] } }),
      /^cloudInit\.services: "x" is both enabled and disabled/,
    ],
    [
      'unit name',
      (a) => (a.provisioningServices = ['bad unit']),
      /^provisioningServices\[0\]: must be a systemd unit name/,
    ],
    ['kernel arg', (a) => (a.kernelArgs = ['a b']), /^kernelArgs\[0\]: must be one kernel argument/],
    [
      'kernel arg of make-iso',
      (a) => (a.kernelArgs = ['makeiso.plan=1']),
      /^kernelArgs\[0\]: makeiso\.plan=1 is set by make-iso/,
    ],
    ['console speed', (a) => (a.console = { speed: 12345 }), /^console\.speed: /],
    ['console port', (a) => (a.console = { port: '/dev/ttyS0' }), /^console\.port: must be a serial device name/],
    ['afterInstall', (a) => (a.afterInstall = 'halt'), /^afterInstall: must be one of: reboot, poweroff, stay/],
    ['tmpfsSize', (a) => (a.tmpfsSize = '1 GB'), /^tmpfsSize: must be a size such as 1G/],
    ['mode', (a) => (a.mode = 'copy'), /^mode: must be one of: auto, overlay, rewrite/],
    [
      'bootkit sha',
      (a) => (a.bootkit = { archive: 'boot.tar.gz', sha256: 'abc' }),
      /^bootkit\.sha256: must be a sha256/,
    ],
    ['bootkit missing', (a) => (a.bootkit = {}), /^bootkit\.archive: is required/],
    [
      'bootkit both',
      (a) => (a.bootkit = { archive: 'boot.tar.gz', kernel: 'boot.tar.gz' }),
      /^bootkit: give either bootkit\.archive, or/,
    ],
    [
      'bootkit half',
      (a) => (a.bootkit = { kernel: 'boot.tar.gz' }),
      /^bootkit\.initramfs: is required with bootkit\.kernel/,
    ],
    [
      'os image missing',
      (a) => (a.osImage = { path: 'nope.raw.gz' }),
      /^osImage\.path: .*nope\.raw\.gz does not exist/,
    ],
    ['os image is a dir', (a) => (a.osImage = { path: 'apps' }), /^osImage\.path: .*apps is not a file/],
    ['os image not raw.gz', (a) => (a.osImage = { path: 'boot.tar.gz' }), /^osImage\.path: .*must be a \*\.raw\.gz/],
    [
      'os image name the installer cannot find',
      (a) => (a.osImage = { path: 'my image.raw.gz' }),
      /^osImage\.path: the file name my image\.raw\.gz may only use letters/,
    ],
    ['proxy with a backslash', (a) => (a.proxy = { http: 'http://a\\b:1' }), /^proxy\.http: must be a proxy URL/],
    ['user apps not a dir', (a) => (a.userAppsDir = 'emt.raw.gz'), /^userAppsDir: .*emt\.raw\.gz is not a directory/],
    [
      'output dir missing',
      (a) => (a.output = { path: 'no/such/dir/x.iso' }),
      /^output\.path: .*no\/such\/dir does not exist/,
    ],
    ['output is a dir', (a) => (a.output = { path: 'apps' }), /^output\.path: .*apps is a directory/],
    ['osImage required', (a) => delete a.osImage, /^osImage: is required/],
  ];
  test.each(cases)('%s', async (_name, patch, re) => {
    const errs = await problems(patch);
    expect(
      errs.some((e) => re.test(e)),
      errs.join('\n'),
    ).toBe(true);
  });
});

describe('unknown keys', () => {
  test('typos get a did-you-mean', async () => {
    const errs = await problems((a) => {
      a.netwrok = {};
      a.user = { name: 'edge', passwordHash: HASH, sshkeys: [] };
      a.disk = { wipe_existing: true };
    });
    expect(errs).toContain('netwrok: unknown key; did you mean `network`?');
    expect(errs).toContain('user.sshkeys: unknown key; did you mean `sshKeys`?');
    expect(errs).toContain('disk.wipe_existing: unknown key; did you mean `wipeExisting`?');
  });

  test('keys of the old shell tooling say where they live now', async () => {
    const errs = await problems((a) => {
      a.user_name = 'edge';
      a.static_ip = '10.0.0.2';
      a.huge_page_config = 4;
      a.USER_CUSTOM_NTP_SERVERS = 'x';
      a.write_files = [];
    });
    expect(errs).toContain('user_name: unknown key; it is `user.name` in make-iso answers');
    expect(errs).toContain(
      'static_ip: unknown key; it is `network.address` (with `network.mode: static`) in make-iso answers',
    );
    expect(errs).toContain(
      'huge_page_config: unknown key; it is `hugepages` (a number of 2 MiB pages) in make-iso answers',
    );
    expect(errs).toContain('USER_CUSTOM_NTP_SERVERS: unknown key; it is `ntp.servers` (a list) in make-iso answers');
    expect(errs).toContain('write_files: unknown key; it is `cloudInit.writeFiles` in make-iso answers');
  });

  test('a plain password key is refused with how to make a hash', async () => {
    const errs = await problems((a) => {
      a.user = { name: 'edge', password: 'secret' };
    });
    const e = errs.find((x) => x.startsWith('user.password:'));
    expect(e).toMatch(/plain password is refused.*make-iso hash-password.*openssl passwd -6/);
    expect(errs.join('\n')).not.toContain('secret');
  });

  test('far-off keys list what is known', async () => {
    const errs = await problems((a) => {
      a.ntp = { zzzzzzzz: 1 };
    });
    expect(errs).toContain('ntp.zzzzzzzz: unknown key; known keys here: servers');
  });

  test('edit distance and suggestions', () => {
    expect(editDistance('nmae', 'name')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(didYouMean('hostnmae', ['hostname', 'hostType'])).toBe('hostname');
    expect(didYouMean('qqq', ['hostname'])).toBeUndefined();
  });
});

test('every problem is reported at once, with line numbers', async () => {
  const text = `bootkit: { archive: boot.tar.gz }
osImage: { path: missing.raw.gz }
user:
  name: Edge
  passwordHash: plain
netwrok: {}
hugepages: -4
afterInstall: later
disk:
  transport: [tape]
`;
  const r = await parseAnswers(text, dir);
  expect(r.answers).toBeUndefined();
  expect(r.errors).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^user\.name: must be a POSIX user name.* \(line 4\)$/),
      expect.stringMatching(/^user\.passwordHash: is not a SHA-512 crypt hash.* \(line 5\)$/),
      'netwrok: unknown key; did you mean `network`? (line 6)',
      'hugepages: must be at least 0 (line 7)',
      'afterInstall: must be one of: reboot, poweroff, stay (line 8)',
      'disk.transport[0]: must be one of: nvme, sata, virtio, usb, scsi, mmc (line 10)',
      expect.stringMatching(/^osImage\.path: .*missing\.raw\.gz does not exist$/),
    ]),
  );
  expect(r.errors).toHaveLength(7);
});

test('syntax errors and duplicate keys are reported with their line', async () => {
  const r = await parseAnswers('user:\n  name: a\n  name: b\n', dir);
  expect(r.errors[0]).toMatch(/^\(syntax\) line 3/);
  const r2 = await parseAnswers('user: [\n', dir);
  expect(r2.errors[0]).toMatch(/^\(syntax\)/);
});

test('a world-readable file with a password hash gets a warning', async () => {
  const file = join(dir, 'open.json');
  writeFileSync(file, JSON.stringify(minimal()), { mode: 0o644 });
  chmodSync(file, 0o644);
  const r = await loadAnswers(file);
  expect(r.errors).toEqual([]);
  expect(r.warnings).toContain(
    `${file}: holds a password hash and is readable by others (mode 644); run: chmod 600 ${file}`,
  );
  chmodSync(file, 0o600);
  expect((await loadAnswers(file)).warnings).toEqual([]);
});

test('a missing file is one problem', async () => {
  const r = await loadAnswers(join(dir, 'nope.yaml'));
  expect(r.errors).toEqual([`${join(dir, 'nope.yaml')}: does not exist`]);
});

test('warnings do not fail', async () => {
  const a = minimal();
  a.network = { address: '10.0.0.3' };
  a.output = { path: 'x.img' };
  const r = await validateAnswers(a, dir);
  expect(r.errors).toEqual([]);
  expect(r.warnings).toEqual(
    expect.arrayContaining([
      'network.address: ignored because network.mode is dhcp',
      expect.stringMatching(/^output\.path: .*x\.img does not end in \.iso$/),
    ]),
  );
});

test('checksums are compared with the inputs, or with the .sha256sum beside the image', async () => {
  const ok = (await validateAnswers(minimal(), dir)).answers!;
  // sha256 of 'bootkit' and 'image'
  const bootSha = '0e9b8f1e4b0b0f2c0a6a8d0f7fd8d1f7b7d0d27cbd0d1a1ab1e3c6a6a0c0b0a0';
  const r = await checkChecksums({ ...ok, bootkit: { ...ok.bootkit, sha256: bootSha } });
  expect(r.errors[0]).toMatch(
    /^bootkit\.sha256: .*boot\.tar\.gz has sha256 [0-9a-f]{64}, but bootkit\.sha256 says 0e9b/,
  );
  expect(r.warnings[0]).toMatch(/^osImage\.sha256: not given/);
  writeFileSync(join(dir, 'emt.raw.gz.sha256sum'), `${'0'.repeat(64)}  emt.raw.gz\n`);
  try {
    const r2 = await checkChecksums(ok);
    expect(r2.errors[0]).toMatch(/^osImage\.path: .* but .*emt\.raw\.gz\.sha256sum says 0000/);
  } finally {
    writeFileSync(join(dir, 'emt.raw.gz.sha256sum'), '');
  }
});
