// Why: issue 13's "done when": on the EMT-shaped OS image, hostType container gives the user a
// docker whose data root is on /opt and which knows the proxy (checked in standalone-node.test.ts,
// on the same install as issue 12's answers); hostType kubernetes installs k3s
// air-gapped from the bundle on the media at the first boot (and again, harmlessly, at the next).
// The real k3s cannot be fetched here: by default the bundle carries a stand-in `k3s` (a static
// ELF launcher around a shell script) and `install.sh` that record what the node did with them.
// MAKE_ISO_K3S_BUNDLE=/path/to/bundle (directory or tar) runs the same install with a real bundle.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureEmtOs, type EmtOs } from '../helpers/emt-os.js';
import { buildFixtureIso } from '../helpers/iso.js';
import { freePort, sshClient } from '../helpers/ssh.js';
import { createDisk, createOvmfVars, startVm, stopAllVms, tailLines, type Vm } from '../helpers/qemu.js';

const fx = inject('fixtures');
const INSTALL_BUDGET_MS = 15 * 60_000; // the OS image with docker is ~800 MB raw; slow under TCG on a loaded host
const BOOT_BUDGET_MS = 8 * 60_000;
const K3S_BUDGET_MS = Number(process.env.MAKE_ISO_K3S_WAIT_MS ?? 8 * 60_000);
const VM_HARD_LIMIT_MS = 25 * 60_000;
const DISK_GIB = 6;
const REAL_BUNDLE = process.env.MAKE_ISO_K3S_BUNDLE;
const PROXY = 'http://proxy.example:3128';
const NO_PROXY = 'localhost,127.0.0.1';
const K3S_UP = /MAKE-ISO-K3S: (cluster up|FAILED): .*/;

let dir = '';
let emt: EmtOs;
let key = '';
let pub = '';
const timings: string[] = [];

/** What `k3s` does in the stand-in bundle: records the server's arguments, environment, config and data dir; answers `kubectl get nodes`. */
const STANDIN_K3S = `set -eu
name=\${0##*/}
d=/opt/k3s-standin
if [ "$name" = kubectl ]; then set -- kubectl "$@"; fi
case "\${1:-}" in
server)
  mkdir -p "$d"
  printf '%s\\n' "$@" >"$d/args"
  env | sort >"$d/server.env"
  cp /etc/rancher/k3s/config.yaml "$d/config.yaml"
  if [ -f /etc/rancher/k3s/registries.yaml ]; then cp /etc/rancher/k3s/registries.yaml "$d/registries.yaml"; fi
  data=$(sed -n 's/^data-dir: *//p' /etc/rancher/k3s/config.yaml)
  (cd "$data" && find agent/images server/manifests -type f | sort) >"$d/data-files"
  printf 'apiVersion: v1\\nkind: Config\\nclusters: []\\n# k3s stand-in\\n' >/etc/rancher/k3s/k3s.yaml
  chmod 600 /etc/rancher/k3s/k3s.yaml
  date +%s >>"$d/starts"
  exec sleep infinity ;;
kubectl)
  shift
  cfg=\${KUBECONFIG:-/etc/rancher/k3s/k3s.yaml}
  [ -r "$cfg" ] || { echo "k3s stand-in: cannot read the kubeconfig $cfg" >&2; exit 1; }
  if [ "\${1:-}" = get ] && [ "\${2:-}" = nodes ]; then
    case " $* " in *" --no-headers "*) ;; *) echo "NAME   STATUS   ROLES                  AGE   VERSION" ;; esac
    echo "$(hostname)   Ready    control-plane,master   1m    v1.30.0+k3s-standin"
    exit 0
  fi
  echo "k3s stand-in kubectl: $*" >&2
  exit 1 ;;
*) echo "k3s stand-in: $*"; exit 0 ;;
esac
`;

/** What `install.sh` does in the stand-in bundle: records its environment and writes k3s.service as the real one would. */
const STANDIN_INSTALL = `#!/bin/sh
# k3s install.sh stand-in (make-iso e2e)
set -eu
d=/opt/k3s-standin
mkdir -p "$d"
env | sort >"$d/install.env"
echo run >>"$d/install-runs"
[ "\${INSTALL_K3S_SKIP_DOWNLOAD:-}" = true ] || { echo "install.sh stand-in: would download k3s" >&2; exit 1; }
bin=\${INSTALL_K3S_BIN_DIR:-/usr/local/bin}
[ -x "$bin/k3s" ] || { echo "install.sh stand-in: no $bin/k3s" >&2; exit 1; }
cat >/etc/systemd/system/k3s.service <<EOF
[Unit]
Description=k3s (make-iso e2e stand-in)
After=network-online.target
[Service]
Type=simple
EnvironmentFile=-/etc/systemd/system/k3s.service.env
ExecStart=$bin/k3s \${INSTALL_K3S_EXEC:-server}
[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
[ "\${INSTALL_K3S_SKIP_ENABLE:-}" = true ] || systemctl enable k3s.service
[ "\${INSTALL_K3S_SKIP_START:-}" = true ] || systemctl restart k3s.service
`;

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A static x86-64 ELF `k3s` that runs STANDIN_K3S with /bin/sh (the build checks the binary's architecture). */
async function standinBinary(out: string): Promise<void> {
  const c = join(dir, 'k3s-standin.c');
  await writeFile(
    c,
    `#include <stdlib.h>
#include <unistd.h>
static const char script[] = ${JSON.stringify(STANDIN_K3S)};
int main(int argc, char **argv) {
  char **a = calloc((size_t)argc + 4, sizeof *a);
  if (!a) return 126;
  a[0] = "/bin/sh"; a[1] = "-c"; a[2] = (char *)script;
  for (int i = 0; i < argc; i++) a[3 + i] = argv[i];
  execv("/bin/sh", a);
  return 127;
}
`,
  );
  execFileSync('cc', ['-static', '-O2', '-o', out, c]);
}

/** The stand-in bundle as a tar: k3s, install.sh, an images tarball and sha256sum-amd64.txt. */
async function standinBundle(opts: { corrupt?: boolean } = {}): Promise<{ tar: string; sums: Map<string, string> }> {
  const b = await mkdtemp(join(dir, 'bundle-'));
  await standinBinary(join(b, 'k3s'));
  await writeFile(join(b, 'install.sh'), STANDIN_INSTALL);
  await chmod(join(b, 'install.sh'), 0o755);
  await writeFile(join(b, 'k3s-airgap-images-amd64.tar.zst'), randomBytes(64 * 1024));
  const sums = new Map<string, string>();
  for (const n of ['k3s', 'install.sh', 'k3s-airgap-images-amd64.tar.zst']) {
    sums.set(n, sha256(await readFile(join(b, n))));
  }
  const listed = new Map(sums);
  if (opts.corrupt) listed.set('install.sh', sha256('not the install script'));
  await writeFile(join(b, 'sha256sum-amd64.txt'), [...listed].map(([n, s]) => `${s}  ${n}\n`).join(''));
  const tar = `${b}.tar.gz`;
  execFileSync('tar', ['-czf', tar, '-C', b, '.']);
  return { tar, sums };
}

const { ssh, sshOk, sshEventually } = sshClient(() => key);

async function install(name: string, iso: string): Promise<{ disk: string; vars: string }> {
  const vars = await createOvmfVars(join(dir, `${name}.vars.fd`));
  const disk = await createDisk(join(dir, `${name}.img`), DISK_GIB);
  const vm = await startVm({
    name: `install ${name}`,
    firmware: 'uefi',
    ovmfVars: vars,
    media: { kind: 'usb', iso },
    disks: [{ path: disk, bus: 'nvme', serial: 'NVME-TARGET' }],
    serialLog: join(dir, `install-${name}.serial.log`),
    timeoutMs: VM_HARD_LIMIT_MS,
  });
  const done = await vm.waitFor(/MAKE-ISO-INSTALLER: (SUCCESS|FAILED): .*/, INSTALL_BUDGET_MS);
  expect(done.line, tailLines(vm.serialLog(), 60)).toMatch(/SUCCESS: installed .* on \/dev\/nvme0n1/);
  await vm.waitForExit(2 * 60_000);
  timings.push(`install ${name}: ${(done.elapsedMs / 1000).toFixed(0)} s`);
  return { disk, vars };
}

async function boot(name: string, disk: string, vars: string): Promise<{ vm: Vm; port: number }> {
  const port = await freePort();
  const vm = await startVm({
    name,
    firmware: 'uefi',
    ovmfVars: vars,
    media: { kind: 'none' },
    disks: [{ path: disk, bus: 'nvme', serial: 'NVME-TARGET' }],
    serialLog: join(dir, `${name.replace(/\W+/g, '-')}.serial.log`),
    timeoutMs: VM_HARD_LIMIT_MS,
    ...(REAL_BUNDLE ? { memoryMiB: 4096 } : {}),
    extraArgs: ['-nic', `user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:${port}-:22`],
  });
  const ready = await vm.waitFor(emt.markers.ready, BOOT_BUDGET_MS);
  timings.push(`${name}: ready at ${(ready.elapsedMs / 1000).toFixed(0)} s`);
  return { vm, port };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-host-types-'));
  emt = await ensureEmtOs();
  key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'make-iso-e2e', '-f', key]);
  pub = (await readFile(`${key}.pub`, 'utf8')).trim();
});
afterEach(async () => {
  await stopAllVms();
});
afterAll(async () => {
  if (timings.length > 0) process.stderr.write(`host types timings (TCG): ${timings.join('; ')}\n`);
  await rm(dir, { recursive: true, force: true });
});

const base = () => ({
  user: { name: 'edge', sshKeys: [pub] },
  proxy: { http: PROXY, https: PROXY, noProxy: NO_PROXY },
  afterInstall: 'reboot',
});

describe('the build checks the k3s bundle', () => {
  it('refuses a bundle whose checksum list does not match a file', async () => {
    const { tar } = await standinBundle({ corrupt: true });
    await expect(
      buildFixtureIso(fx, {
        dir,
        name: 'bad-sum',
        osImage: emt.osImage,
        answers: { ...base(), hostType: 'kubernetes', kubernetes: { bundle: tar } },
      }),
    ).rejects.toThrow(/k3s bundle .*: install\.sh has sha256 [0-9a-f]{64}, but the bundle's checksum says/);
  });

  it('refuses hostType kubernetes without a bundle, naming what is missing', async () => {
    await expect(
      buildFixtureIso(fx, {
        dir,
        name: 'no-bundle',
        osImage: emt.osImage,
        answers: { ...base(), hostType: 'kubernetes' },
      }),
    ).rejects.toThrow(/hostType: kubernetes needs a k3s air-gap bundle: set kubernetes\.bundle .*k3s.*install\.sh/);
  });
});

describe('host types on the EMT-shaped OS image', () => {
  // hostType container is checked on the Standalone Node of standalone-node.test.ts (one install of the
  // ~800 MB image for both).
  it('kubernetes: k3s installed air-gapped from the bundle at the first boot, harmlessly again at the second', async () => {
    const apps = join(dir, 'apps');
    await mkdir(join(apps, 'manifests'), { recursive: true });
    await mkdir(join(apps, 'images'), { recursive: true });
    await writeFile(join(apps, 'manifests', 'demo.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n');
    await writeFile(join(apps, 'images', 'demo-images.tar'), randomBytes(4096));
    const standin = REAL_BUNDLE ? undefined : await standinBundle();
    const built = await buildFixtureIso(fx, {
      dir,
      name: 'kubernetes',
      osImage: emt.osImage,
      answers: {
        ...base(),
        hostType: 'kubernetes',
        // a host name in /etc/hosts: sudo otherwise warns on stderr, which sshOk's output includes
        hostname: 'k3s-node',
        userAppsDir: apps,
        kubernetes: {
          bundle: REAL_BUNDLE ?? standin!.tar,
          nodeIp: '10.0.2.15',
          interface: 'eth0',
          extraArgs: ['--disable=traefik'],
          registryMirrors: { 'docker.io': ['https://mirror.example:5000'] },
        },
      },
    });
    const { disk, vars } = await install('kubernetes', built.output);

    for (const n of [1, 2]) {
      const { vm, port } = await boot(`kubernetes node boot ${n}`, disk, vars);
      const up = await vm.waitFor(K3S_UP, K3S_BUDGET_MS);
      timings.push(`k3s boot ${n}: ${up.line.trim()} at ${(up.elapsedMs / 1000).toFixed(0)} s`);
      expect(up.line, tailLines(vm.serialLog(), 40)).toMatch(/MAKE-ISO-K3S: cluster up: \S+ +Ready /);

      // the bundle on edge_persistent, as the build checked it; the binary in place
      const check = sshOk(vm, port, 'cd /opt/make-iso/k3s-bundle && sha256sum -c SHA256SUMS && cat SHA256SUMS');
      expect(check).toMatch(/^k3s: OK$/m);
      expect(check).toMatch(/^install\.sh: OK$/m);
      expect(check).toMatch(/^k3s-airgap-images-amd64\.tar(\.gz|\.zst)?: OK$/m);
      if (standin) {
        for (const [name, sum] of standin.sums) expect(check).toContain(`${sum}  ${name}`);
      }
      sshOk(vm, port, 'cmp /opt/make-iso/k3s-bundle/k3s /opt/make-iso/k3s/bin/k3s');
      // the unit, k3s's environment (proxy), config and mirror
      expect(sshOk(vm, port, 'sudo -n systemctl is-enabled make-iso-k3s.service k3s.service')).toBe(
        'enabled\nenabled\n',
      );
      expect(sshOk(vm, port, 'sudo -n systemctl show -p EnvironmentFiles k3s.service')).toContain('/etc/environment');
      const config = sshOk(vm, port, 'sudo -n cat /etc/rancher/k3s/config.yaml');
      expect(config).toMatch(/^data-dir: \/opt\/rancher\/k3s$/m);
      expect(config).toMatch(/^node-ip: 10\.0\.2\.15$/m);
      expect(config).toMatch(/^flannel-iface: eth0$/m);
      expect(sshOk(vm, port, 'sudo -n cat /etc/rancher/k3s/registries.yaml')).toMatch(
        /docker\.io:\n\s+endpoint:\n\s+- https:\/\/mirror\.example:5000/,
      );
      // images and manifests in k3s's data dir on /opt
      const data = sshOk(
        vm,
        port,
        'sudo -n find /opt/rancher/k3s/agent/images /opt/rancher/k3s/server/manifests -maxdepth 1 -type f',
      );
      expect(data).toContain('/opt/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar');
      expect(data).toContain('/opt/rancher/k3s/agent/images/demo-images.tar');
      expect(data).toContain('/opt/rancher/k3s/server/manifests/demo.yaml');
      // kubectl and KUBECONFIG for the user (a login shell)
      expect(sshOk(vm, port, 'bash -lc \'echo "$KUBECONFIG"; kubectl get nodes\'')).toMatch(
        /^\/home\/edge\/\.kube\/config\nNAME +STATUS[^\n]*\n\S+ +Ready /,
      );
      expect(sshOk(vm, port, 'stat -c %U:%a ~/.kube/config').trim()).toBe('edge:600');

      if (standin) {
        const installEnv = sshOk(vm, port, 'sudo -n cat /opt/k3s-standin/install.env');
        expect(installEnv).toMatch(/^INSTALL_K3S_SKIP_DOWNLOAD=true$/m);
        expect(installEnv).toMatch(/^INSTALL_K3S_BIN_DIR=\/opt\/make-iso\/k3s\/bin$/m);
        expect(installEnv).toMatch(/^INSTALL_K3S_EXEC=server --disable=traefik$/m);
        expect(sshOk(vm, port, 'sudo -n cat /opt/k3s-standin/args')).toBe('server\n--disable=traefik\n');
        const serverEnv = sshOk(vm, port, 'sudo -n cat /opt/k3s-standin/server.env');
        expect(serverEnv).toContain(`HTTP_PROXY=${PROXY}`);
        expect(serverEnv).toContain(`NO_PROXY=${NO_PROXY}`);
        expect(sshOk(vm, port, 'sudo -n cat /opt/k3s-standin/config.yaml')).toBe(config);
        // installed once; k3s started at every boot
        expect(sshOk(vm, port, 'sudo -n wc -l </opt/k3s-standin/install-runs').trim()).toBe('1');
        // k3s.service (enabled by install.sh) may start after the status line at the second boot
        await sshEventually(vm, port, `test "$(sudo -n wc -l </opt/k3s-standin/starts)" -eq ${n}`, 2 * 60_000);
      }
      if (n === 1) {
        ssh(port, 'sudo -n systemctl reboot');
        await vm.waitForExit(3 * 60_000);
      }
    }
  });
});
