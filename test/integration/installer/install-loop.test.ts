// Why: runs the real write, verify and configure steps onto loop devices this test creates (root only; never another disk).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shellAssignments, type ShellValue } from '../../../src/render/shell.js';
import { HASH, KEY, validEnv } from '../../unit/installer/install-env.js';
import { runInstaller, tempDir } from '../../unit/installer/run-bash.js';

const sh = (cmd: string, ...args: string[]): string =>
  execFileSync('bash', ['--norc', '-c', cmd, '_', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const hasTool = (t: string): boolean => spawnSync('bash', ['--norc', '-c', `command -v ${t}`]).status === 0;
const canRun =
  process.getuid?.() === 0 &&
  ['losetup', 'partx', 'sfdisk', 'mkfs.ext4', 'mkfs.fat', 'debugfs', 'useradd'].every(hasTool);

let tmp: ReturnType<typeof tempDir>;
const loops: string[] = [];
const shas: Record<string, string> = {};

/** Attaches a fresh sparse file as a loop device and remembers it for afterEach. */
function newLoop(name: string, size = '64M'): string {
  const file = join(tmp.dir, name);
  sh('truncate -s "$2" "$1"', file, size);
  const dev = sh('losetup -f --show -P "$1"', file).trim();
  expect(dev).toMatch(/^\/dev\/loop\d+$/);
  loops.push(dev);
  return dev;
}

const debugfsCat = (part: string, path: string): string => sh('debugfs -R "cat $2" "$1" 2>/dev/null', part, path);
const debugfsStat = (part: string, path: string): string => sh('debugfs -R "stat $2" "$1" 2>/dev/null', part, path);
/** Partition lines of `sfdisk -d`, without the device names (start, size, type, uuid, name). */
const partitions = (dev: string): string[] =>
  sh('sfdisk -d "$1"', dev)
    .split('\n')
    .filter((l) => l.includes(' : start='))
    .map((l) => l.replace(/^\S+ : /, ''));

function install(dev: string, over: Record<string, ShellValue> = {}, dir = 'img') {
  const name = `${dev.replace('/dev/', '')}-${Math.random().toString(36).slice(2)}`;
  const env = tmp.file(
    `${name}.env`,
    shellAssignments(
      validEnv({
        MI_OS_IMAGE: 'images/os.raw.gz',
        MI_OS_IMAGE_SHA256: shas[dir] ?? '',
        MI_NET_MODE: 'static',
        MI_NET_INTERFACE: 'eth0',
        MI_NET_ADDRESS: '192.168.10.5',
        MI_NET_PREFIX: '24',
        MI_NET_GATEWAY: '192.168.10.1',
        MI_HUGEPAGES: '64',
        ...over,
      }),
    ),
  );
  const log = join(tmp.dir, `${name}.log`);
  const r = runInstaller({
    MI_INSTALL_ENV: env,
    MI_CMDLINE_FILE: tmp.file(`${name}.cmdline`, 'root=tmpfs makeiso.volid=MAKEISO1\n'),
    MI_RUN_DIR: join(tmp.dir, name),
    MI_LOG_FILE: log,
    MI_TEST_TARGET: dev,
    MI_TEST_MEDIA_DIR: join(tmp.dir, dir, 'media'),
    MI_TEST_NO_BOOTENTRY: '1',
    MI_TEST_NO_REBOOT: '1',
  });
  return { ...r, log: readFileSync(log, 'utf8') };
}

describe.skipIf(!canRun)('install onto a loop device', () => {
  beforeAll(() => {
    tmp = tempDir();
    const script = join(import.meta.dirname, 'make-test-image.sh');
    sh('"$1" "$2"', script, join(tmp.dir, 'img'));
    sh('"$1" "$2" notrootfs', script, join(tmp.dir, 'bad'));
    sh('NO_CLOUD_INIT=1 "$1" "$2"', script, join(tmp.dir, 'nocloud'));
    for (const d of ['img', 'bad', 'nocloud']) {
      shas[d] = sh('sha256sum <"$1"', join(tmp.dir, d, 'media/images/os.raw.gz')).split(' ')[0] ?? '';
    }
  });
  afterEach(() => {
    for (const dev of loops.splice(0)) spawnSync('losetup', ['-d', dev]);
  });
  afterAll(() => tmp?.cleanup());

  it('writes and verifies the image, then applies the answers to the installed rootfs', () => {
    const dev = newLoop('target.img');
    const r = install(dev);
    expect(r.status, r.log).toBe(0);
    expect(r.lines.at(-1)).toBe(`MAKE-ISO-INSTALLER: SUCCESS: installed images/os.raw.gz on ${dev}`);
    expect(r.lines.filter((l) => /^MAKE-ISO-INSTALLER: step /.test(l))).toHaveLength(10);
    expect(r.lines).toContain(`make-iso-installer: partitions: rootfs=${dev}p2 esp=${dev}p1 edge_persistent=${dev}p3`);

    // the partition table matches the image's (the backup header moved to the end of the disk),
    // but edge_persistent, the last partition, now ends on the last whole MiB of the disk
    const image = partitions(join(tmp.dir, 'img/os.raw'));
    const written = partitions(dev);
    expect(written.slice(0, 2)).toEqual(image.slice(0, 2));
    expect(written[2]).toBe(image[2]?.replace(/size=\s*\d+/, 'size=       77824'));
    expect(r.lines).toContain('make-iso-installer: edge_persistent: grown from 8 MiB to 38 MiB');
    expect(sh('dumpe2fs -h "$1" 2>/dev/null | grep "^Block count"', `${dev}p3`)).toMatch(/Block count:\s+38912\s*$/);
    expect(sh('sfdisk -d "$1" | grep last-lba', dev)).toMatch(/last-lba: 131038/);

    const root = `${dev}p2`;
    expect(debugfsCat(root, '/etc/shadow')).toContain(`edge:${HASH}:`);
    expect(debugfsCat(root, '/etc/passwd')).toMatch(/^edge:x:1000:1000::\/home\/edge:\/bin\/bash$/m);
    expect(debugfsCat(root, '/etc/group')).toMatch(/^wheel:x:10:edge$/m);
    expect(debugfsCat(root, '/etc/sudoers.d/90-make-iso-edge')).toBe('edge ALL=(ALL) ALL\n');
    expect(debugfsCat(root, '/home/edge/.ssh/authorized_keys')).toBe(`${KEY}\n`);
    const keyStat = debugfsStat(root, '/home/edge/.ssh/authorized_keys');
    expect(keyStat).toMatch(/Mode:\s+0600/);
    expect(keyStat).toMatch(/User:\s+1000\s+Group:\s+1000/);
    expect(debugfsStat(root, '/home/edge/.ssh')).toMatch(/Mode:\s+0700/);
    expect(debugfsCat(root, '/etc/environment')).toBe(
      [
        'PATH="/usr/bin:/bin"',
        'http_proxy="http://proxy.example:3128"',
        'HTTP_PROXY="http://proxy.example:3128"',
        'https_proxy="http://proxy.example:3128"',
        'HTTPS_PROXY="http://proxy.example:3128"',
        'no_proxy="localhost,127.0.0.1"',
        'NO_PROXY="localhost,127.0.0.1"',
        '',
      ].join('\n'),
    );
    expect(debugfsCat(root, '/etc/hostname')).toBe('node-1\n');
    expect(debugfsCat(root, '/etc/systemd/network/10-make-iso-static.network')).toContain(
      '[Match]\nName=eth0\n\n[Network]\nConfigureWithoutCarrier=yes\nIgnoreCarrierLoss=yes\nAddress=192.168.10.5/24\nGateway=192.168.10.1\nDNS=1.1.1.1\n',
    );
    // cloud-init: NoCloud forced (ds-identify.cfg + a seed in the image's /var), NTP through its ntp module
    expect(debugfsCat(root, '/etc/cloud/ds-identify.cfg')).toMatch(/^datasource: NoCloud$/m);
    expect(debugfsCat(root, '/var/lib/cloud/seed/nocloud/meta-data')).toMatch(/^instance-id: make-iso-/);
    expect(debugfsCat(root, '/etc/cloud/cloud.cfg.d/97-make-iso-ntp.cfg')).toContain(
      'ntp:\n  enabled: true\n  ntp_client: chrony\n  servers:\n    - "pool.ntp.org"\n',
    );
    expect(debugfsCat(root, '/etc/sysconfig/proxy')).toContain(
      'PROXY_ENABLED="yes"\nHTTP_PROXY="http://proxy.example:3128"',
    );
    expect(debugfsCat(root, '/etc/sysctl.d/90-make-iso-hugepages.conf')).toContain('vm.nr_hugepages = 64');
    expect(debugfsCat(root, '/etc/make-iso/host-type')).toBe('kubernetes\n');
    expect(debugfsCat(root, '/var/log/make-iso-installer.log')).toContain('MAKE-ISO-INSTALLER: step 10/10: finish');
    // the secret hash is never logged
    expect(r.log).not.toContain(HASH);
  });

  it('keeps edge_persistent at the image size with MI_PERSISTENT_SIZE_GIB=0; a key-only user gets NOPASSWD sudo', () => {
    const dev = newLoop('keep.img');
    const r = install(dev, { MI_PERSISTENT_SIZE_GIB: '0', MI_USER_PASSWORD_HASH: '', MI_USER_SUDO: 'nopasswd' });
    expect(r.status, r.log).toBe(0);
    expect(partitions(dev)).toEqual(partitions(join(tmp.dir, 'img/os.raw')));
    expect(debugfsCat(`${dev}p2`, '/etc/sudoers.d/90-make-iso-edge')).toBe('edge ALL=(ALL) NOPASSWD:ALL\n');
  });

  it('an image without cloud-init refuses cloud-init and ntp answers before configuring anything', () => {
    const dev = newLoop('nocloud.img');
    tmp.file('cloud-init.yaml', '#cloud-config\n{}\n'); // the extras install.env promises (step 1 checks)
    const r = install(dev, { MI_CLOUD_INIT: 'yes' }, 'nocloud');
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 7\/10 .*cloudInit answers need cloud-init.*ntp\.servers needs cloud-init/,
    );
    expect(r.stdout).toContain('make-iso-log: ');
    expect(spawnSync('sfdisk', ['-d', dev]).status).not.toBe(0);
  });

  it('a damaged image writes nothing: the disk is unchanged, FAILED, no SUCCESS', () => {
    const dev = newLoop('untouched.img');
    sh('printf "precious data" | dd of="$1" bs=512 seek=100 conv=notrunc status=none', dev);
    const before = sh('sha256sum <"$1"', dev);
    const r = install(dev, { MI_OS_IMAGE_SHA256: '0'.repeat(64) });
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(/^MAKE-ISO-INSTALLER: FAILED: step 3\/10 .*damaged/);
    expect(r.stdout).not.toContain('SUCCESS');
    expect(sh('sha256sum <"$1"', dev)).toBe(before);
  });

  it('hostType container on an image without docker or containerd fails before configuring, naming it', () => {
    const dev = newLoop('no-engine.img');
    const r = install(dev, { MI_HOST_TYPE: 'container' });
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 7\/10 \(configure the installed system\): the host type cannot be set up: hostType container needs a container engine \(docker or containerd\)/,
    );
    expect(r.log).not.toContain('wrote /etc/make-iso/host-type');
    expect(spawnSync('sfdisk', ['-d', dev]).status).not.toBe(0);
  });

  it('kubernetes with a k3s bundle: the bundle checked onto edge_persistent, k3s config and boot unit in the rootfs', () => {
    const files: Record<string, string> = {
      k3s: 'k3s binary',
      'install.sh': '#!/bin/sh\n',
      'k3s-airgap-images-amd64.tar.zst': 'images',
    };
    mkdirSync(join(tmp.dir, 'img/media/k3s-bundle'), { recursive: true });
    for (const [n, c] of Object.entries(files)) writeFileSync(join(tmp.dir, 'img/media/k3s-bundle', n), c);
    const sums = Object.entries(files).map(([n, c]) => `${createHash('sha256').update(c).digest('hex')}  ${n}`);
    tmp.file('k3s-config.yaml', 'data-dir: /opt/rancher/k3s\n');
    tmp.file('k3s-registries.yaml', 'mirrors: {}\n');
    const dev = newLoop('k3s.img');
    const r = install(dev, {
      MI_K3S_BUNDLE: 'k3s-bundle',
      MI_K3S_SHA256S: sums,
      MI_K3S_DATA_DIR: '/opt/rancher/k3s',
      MI_K3S_EXTRA_ARGS: ['--disable=traefik'],
    });
    expect(r.status, r.log).toBe(0);
    const p3 = `${dev}p3`;
    const root = `${dev}p2`;
    expect(debugfsCat(p3, '/make-iso/k3s-bundle/SHA256SUMS')).toBe(`${sums.join('\n')}\n`);
    expect(debugfsCat(p3, '/make-iso/k3s-bundle/k3s')).toBe('k3s binary');
    expect(debugfsStat(p3, '/make-iso/k3s-up.sh')).toMatch(/Mode:\s+0755/);
    expect(debugfsCat(root, '/etc/rancher/k3s/config.yaml')).toBe('data-dir: /opt/rancher/k3s\n');
    expect(debugfsCat(root, '/etc/rancher/k3s/registries.yaml')).toBe('mirrors: {}\n');
    expect(debugfsCat(root, '/etc/make-iso/k3s.env')).toContain("K3S_EXTRA_ARGS=( '--disable=traefik' )");
    expect(debugfsCat(root, '/etc/systemd/system/k3s.service.d/10-make-iso-env.conf')).toContain(
      'EnvironmentFile=-/etc/environment',
    );
    expect(debugfsStat(root, '/etc/systemd/system/multi-user.target.wants/make-iso-k3s.service')).toMatch(
      /Type: symlink/,
    );
  });

  it('a failure after the write clears the partition table so the half-installed disk never boots', () => {
    const dev = newLoop('half.img');
    const r = install(dev, {}, 'bad');
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 6\/10 \(verify the written image\): the installed image has no single partition labelled rootfs/,
    );
    expect(r.lines).toContain(
      `make-iso-installer: clearing the partition table of ${dev} (the install did not complete)`,
    );
    expect(spawnSync('sfdisk', ['-d', dev]).status).not.toBe(0);
  });

  it.skipIf(!hasTool('pvcreate') || !hasTool('parted'))(
    'creates the LVM volume group on a partition after the image',
    () => {
      const dev = newLoop('lvm.img', '1200M');
      const r = install(dev, { MI_LVM_SIZE_GIB: '1' });
      expect(r.status, r.log).toBe(0);
      expect(r.lines).toContain(`make-iso-installer: LVM: volume group lvmvg on ${dev}p4 (1 GiB)`);
      const lvm = partitions(dev)[3] ?? '';
      // edge_persistent grew up to 1 GiB + 1 MiB before the end; the LVM partition follows it
      expect(lvm).toMatch(/^start=\s+356352, size=\s+2097152, .*name="make-iso-lvm"$/);
      expect(partitions(dev)[2]).toMatch(/^start=\s+51200, size=\s+305152, .*name="edge_persistent"$/);
      expect(sh('pvs --noheadings -o vg_name "$1" 2>/dev/null', `${dev}p4`).trim()).toBe('lvmvg');
    },
  );

  it('installs again over an earlier install: DHCP with DNS, cloud-init extras, user apps', () => {
    const dev = newLoop('again.img');
    expect(install(dev).status).toBe(0);
    const cloud = '#cloud-config\nruncmd:\n  - [systemctl, enable, --now, demo.service]\n';
    tmp.file('cloud-init.yaml', cloud);
    mkdirSync(join(tmp.dir, 'img/media/user-apps/app1'), { recursive: true });
    writeFileSync(join(tmp.dir, 'img/media/user-apps/app1/run.sh'), 'echo app1\n');
    const again = install(dev, {
      MI_SSH_KEYS: [],
      MI_NET_MODE: 'dhcp',
      MI_NET_INTERFACE: '',
      MI_NET_ADDRESS: '',
      MI_NET_PREFIX: '',
      MI_NET_GATEWAY: '',
      MI_NET_DNS: ['9.9.9.9', '2620:fe::fe'],
      MI_CLOUD_INIT: 'yes',
      MI_USER_APPS_DIR: 'user-apps',
      MI_HUGEPAGES: '0',
    });
    expect(again.status, again.log).toBe(0);
    const root = `${dev}p2`;
    expect(debugfsCat(root, '/etc/shadow')).toContain(`edge:${HASH}:`);
    expect(debugfsCat(root, '/etc/passwd').match(/^edge:/gm)).toHaveLength(1);
    expect(debugfsCat(root, '/etc/systemd/resolved.conf.d/90-make-iso-dns.conf')).toContain('DNS=9.9.9.9 2620:fe::fe');
    expect(debugfsCat(root, '/etc/cloud/cloud.cfg.d/99-make-iso.cfg')).toBe(cloud);
    expect(debugfsStat(root, '/etc/cloud/cloud.cfg.d/99-make-iso.cfg')).toMatch(/Mode:\s+0600/);
    // user apps land on edge_persistent (the node's /opt), not under the rootfs's hidden /opt
    expect(debugfsCat(`${dev}p3`, '/user-apps/app1/run.sh')).toBe('echo app1\n');
    expect(debugfsStat(root, '/opt/user-apps')).not.toMatch(/Type: directory/);
    expect(debugfsCat(root, '/etc/make-iso/host-type')).toBe('kubernetes\n');
  });
});
