// Why: the answers land in the installed root as plain files; check each writer on a directory tree, without disks.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HASH, KEY } from './install-env.js';
import { bash, tempDir } from './run-bash.js';

let tmp: ReturnType<typeof tempDir>;
let root = '';
beforeEach(() => {
  tmp = tempDir();
  root = join(tmp.dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'home'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nedge:x:1001:1001::/home/edge:/bin/sh\n');
  writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\nedge:!:19000:0:99999:7:::\n', { mode: 0o600 });
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nedge:x:1001:\n');
  writeFileSync(join(root, 'etc/gshadow'), 'root:*::\nedge:!::\n', { mode: 0o600 });
  writeFileSync(join(root, 'etc/environment'), 'LANG=C\nexport HTTPS_PROXY=http://old:1\nno_proxy=old\n');
});
afterEach(() => tmp.cleanup());

/** Runs configure.sh functions with CFG_ROOT pointing at the tree; VARS are bash assignments. */
function cfg(vars: string, calls: string, env: Record<string, string> = {}) {
  const script = `set -Eeuo pipefail
source lib/log.sh
source lib/configure.sh
MI_LOG_FILE="$2/test.log"
die() { printf 'DIE %s\\n' "$*"; exit 1; }
CFG_ROOT="$1"
MI_USER_NAME=edge MI_USER_PASSWORD_HASH='${HASH}' MI_SSH_KEYS=('${KEY}')
MI_HTTP_PROXY='' MI_HTTPS_PROXY='' MI_NO_PROXY='' MI_NET_MODE=dhcp MI_NET_INTERFACE='' MI_NET_ADDRESS=''
MI_NET_PREFIX='' MI_NET_GATEWAY='' MI_NET_DNS=()
${vars}
${calls}`;
  return bash(script, [root, tmp.dir], env);
}
const read = (rel: string): string => readFileSync(join(root, rel), 'utf8');

describe.skipIf(process.getuid?.() !== 0)('user (useradd/chpasswd --root need root)', () => {
  it('keeps an existing user, sets its hash, grants sudo, and adds each key once', () => {
    const r = cfg('', 'cfg_user; cfg_ssh_keys; cfg_ssh_keys');
    expect(r.stdout).toContain('user edge already exists in the image; setting its password');
    expect(read('etc/passwd').match(/^edge:/gm)).toHaveLength(1);
    expect(read('etc/shadow')).toMatch(new RegExp(`^edge:${HASH.replaceAll('$', '\\$')}:`, 'm'));
    expect(read('etc/sudoers.d/90-make-iso-edge')).toBe('edge ALL=(ALL) ALL\n');
    expect(statSync(join(root, 'etc/sudoers.d/90-make-iso-edge')).mode & 0o777).toBe(0o440);
    expect(read('home/edge/.ssh/authorized_keys')).toBe(`${KEY}\n`);
    const st = statSync(join(root, 'home/edge/.ssh/authorized_keys'));
    expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o600, 1001, 1001]);
    expect(statSync(join(root, 'home/edge/.ssh')).mode & 0o777).toBe(0o700);
  });
});

describe('files', () => {
  it('replaces older proxy lines in /etc/environment and keeps the rest', () => {
    cfg("MI_HTTP_PROXY='http://p:3128' MI_NO_PROXY='localhost,.corp'", 'cfg_proxy');
    expect(read('etc/environment')).toBe(
      'LANG=C\nhttp_proxy="http://p:3128"\nHTTP_PROXY="http://p:3128"\nno_proxy="localhost,.corp"\nNO_PROXY="localhost,.corp"\n',
    );
  });

  it('puts the host name on 127.0.1.1 in /etc/hosts, replacing an older line', () => {
    writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\told-name\n');
    cfg("MI_HOSTNAME='edge-node-7'", 'cfg_hostname');
    expect(read('etc/hostname')).toBe('edge-node-7\n');
    expect(read('etc/hosts')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tedge-node-7\n');
  });

  it('writes nothing for empty answers', () => {
    const r = cfg(
      "MI_HOSTNAME='' MI_NTP_SERVERS=() MI_HUGEPAGES=0",
      'cfg_proxy; cfg_hostname; cfg_ntp; cfg_hugepages; cfg_network; echo ok',
    );
    expect(r.stdout).toBe('ok\n');
    expect(read('etc/environment')).toBe('LANG=C\nexport HTTPS_PROXY=http://old:1\nno_proxy=old\n');
  });
});

describe('static network without an interface name', () => {
  /** A fake /sys/class/net: [name, type, carrier ('' = unreadable, link down), mac, physical]. */
  function sysNet(nics: Array<[string, number, string, string, boolean]>): string {
    const base = join(tmp.dir, 'sys-class-net');
    for (const [name, type, carrier, mac, physical] of nics) {
      mkdirSync(join(base, name), { recursive: true });
      writeFileSync(join(base, name, 'type'), `${type}\n`);
      writeFileSync(join(base, name, 'address'), `${mac}\n`);
      if (carrier !== '') writeFileSync(join(base, name, 'carrier'), `${carrier}\n`);
      if (physical) mkdirSync(join(base, name, 'device'));
    }
    return base;
  }
  const STATIC =
    "MI_NET_MODE=static MI_NET_ADDRESS='10.0.0.5' MI_NET_PREFIX=24 MI_NET_GATEWAY='10.0.0.1' MI_NET_DNS=('10.0.0.2')";

  it('matches the first ethernet interface with carrier by its MAC address', () => {
    const net = sysNet([
      ['lo', 772, '1', '00:00:00:00:00:00', false],
      ['enp1s0', 1, '0', '52:54:00:00:00:01', true],
      ['enp2s0', 1, '1', '52:54:00:00:00:02', true],
      ['docker0', 1, '1', '02:42:00:00:00:03', false],
    ]);
    const r = cfg(STATIC, 'cfg_network', { MI_TEST_SYS_CLASS_NET: net });
    expect(r.stderr).toBe('');
    expect(read('etc/systemd/network/10-make-iso-static.network')).toBe(
      '# Written by the make-iso installer.\n[Match]\nMACAddress=52:54:00:00:00:02\n\n[Network]\nConfigureWithoutCarrier=yes\nIgnoreCarrierLoss=yes\nAddress=10.0.0.5/24\nGateway=10.0.0.1\nDNS=10.0.0.2\n',
    );
  });

  it('takes the only ethernet interface when none has carrier, and refuses to guess between two', () => {
    const one = sysNet([['enp1s0', 1, '', '52:54:00:00:00:01', true]]);
    cfg(STATIC, 'cfg_network', { MI_TEST_SYS_CLASS_NET: one });
    expect(read('etc/systemd/network/10-make-iso-static.network')).toContain('MACAddress=52:54:00:00:00:01');
    const two = sysNet([['enp2s0', 1, '0', '52:54:00:00:00:02', true]]);
    const r = cfg(STATIC, 'cfg_network', { MI_TEST_SYS_CLASS_NET: two });
    expect(r.stdout).toMatch(/^DIE static network: no interface has carrier and there is more than one/m);
  });
});

/** Runs configure.sh + hosttype.sh functions with `run` stubbed to log the command (no systemctl/usermod on the tree). */
function ht(vars: string, calls: string) {
  return cfg(`source lib/hosttype.sh\nrun() { printf 'RUN %s\\n' "$*"; }\n${vars}`, calls);
}
const exe = (rel: string) => {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), '#!/bin/sh\n', { mode: 0o755 });
};
const unit = (name: string) => {
  mkdirSync(join(root, 'usr/lib/systemd/system'), { recursive: true });
  writeFileSync(join(root, 'usr/lib/systemd/system', name), '[Service]\n');
};

describe('host type container', () => {
  it('refuses, before writing, an image without docker or containerd', () => {
    const r = ht("MI_HOST_TYPE=container PART_PERSISTENT=''", 'cfg_check_host_type /media');
    expect(r.stdout).toContain('DIE the host type cannot be set up: hostType container needs a container engine');
  });

  it.skipIf(process.getuid?.() !== 0)(
    'docker: data root on /opt, the user into the docker group, proxy drop-ins and client config, units enabled (chown needs root)',
    () => {
      exe('usr/bin/dockerd');
      exe('usr/bin/containerd');
      for (const u of ['docker.service', 'docker.socket', 'containerd.service']) unit(u);
      mkdirSync(join(root, 'home/edge'), { recursive: true });
      writeFileSync(join(root, 'etc/group'), 'root:x:0:\nedge:x:1001:\ndocker:x:998:\n');
      const r = ht(
        "MI_HOST_TYPE=container MI_HTTP_PROXY='http://p:3128' MI_HTTPS_PROXY='http://p:3128' MI_NO_PROXY='localhost,50%'",
        'cfg_check_host_type /media && ht_container',
      );
      expect(r.stdout).not.toContain('DIE');
      expect(JSON.parse(read('etc/docker/daemon.json'))).toEqual({ 'data-root': '/opt/docker-data' });
      expect(r.stdout).toContain(`RUN usermod --root ${root} --append --groups docker -- edge`);
      expect(r.stdout).not.toContain('RUN groupadd');
      expect(r.stdout).toContain(
        `RUN systemctl --root=${root} --quiet enable -- docker.service docker.socket containerd.service`,
      );
      const dropin = read('etc/systemd/system/docker.service.d/10-make-iso-proxy.conf');
      expect(dropin).toContain('Environment="HTTP_PROXY=http://p:3128" "http_proxy=http://p:3128"\n');
      expect(dropin).toContain('Environment="NO_PROXY=localhost,50%%" "no_proxy=localhost,50%%"\n');
      expect(read('etc/systemd/system/containerd.service.d/10-make-iso-proxy.conf')).toBe(dropin);
      expect(JSON.parse(read('home/edge/.docker/config.json'))).toEqual({
        proxies: { default: { httpProxy: 'http://p:3128', httpsProxy: 'http://p:3128', noProxy: 'localhost,50%' } },
      });
    },
  );

  it('containerd only: its root on /opt, kept config lines, enabled', () => {
    exe('usr/bin/containerd');
    unit('containerd.service');
    mkdirSync(join(root, 'etc/containerd'), { recursive: true });
    writeFileSync(join(root, 'etc/containerd/config.toml'), 'version = 2\nroot = "/var/lib/containerd"\n[plugins]\n');
    const r = ht('MI_HOST_TYPE=container', 'ht_container');
    expect(read('etc/containerd/config.toml')).toBe('root = "/opt/containerd-data"\nversion = 2\n[plugins]\n');
    expect(r.stdout).toContain(`RUN systemctl --root=${root} --quiet enable -- containerd.service`);
  });
});

describe('host type kubernetes', () => {
  it('without a bundle: only the marker, said in the log', () => {
    const r = ht(
      "MI_HOST_TYPE=kubernetes MI_K3S_BUNDLE='' MI_K3S_SHA256S=()",
      'cfg_check_host_type /media && cfg_host_type /media /cfg /run',
    );
    expect(read('etc/make-iso/host-type')).toBe('kubernetes\n');
    expect(r.stdout).toContain('without a k3s bundle: k3s is not set up');
  });

  it('refuses, before writing, a bundle the media lacks or an image without edge_persistent', () => {
    const r = ht(
      `MI_HOST_TYPE=kubernetes MI_K3S_BUNDLE=k3s-bundle PART_PERSISTENT='' MI_K3S_SHA256S=('${'a'.repeat(64)}  k3s')`,
      `cfg_check_host_type "${'$2'}/media"`,
    );
    expect(r.stdout).toContain('needs an edge_persistent partition');
    expect(r.stdout).toContain('the k3s bundle on the media lacks k3s-bundle/k3s');
  });
});
