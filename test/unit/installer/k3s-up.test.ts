// Why: the node's k3s boot script (node/k3s-up.sh) with systemctl and the bundle stubbed: it refuses a bundle that no longer matches, installs once, and says on the console whether the cluster is up.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SCRIPTS_DIR, tempDir } from './run-bash.js';

let tmp: ReturnType<typeof tempDir>;
let base = '';
beforeEach(() => {
  tmp = tempDir('make-iso-k3s-up-');
  base = join(tmp.dir, 'opt/make-iso');
  const bundle = join(base, 'k3s-bundle');
  mkdirSync(bundle, { recursive: true });
  const files: Record<string, string> = {
    // a k3s whose kubectl answers Ready once the stub systemctl "started" it
    k3s: `#!/bin/sh\nif [ "$1" = kubectl ] && [ -f "${tmp.dir}/started" ]; then echo "node1   Ready   control-plane   1m   v1"; exit 0; fi\nexit 1\n`,
    'install.sh': `#!/bin/sh\nenv | grep '^INSTALL_K3S_' | sort >>"${tmp.dir}/install.log"\ntouch "${tmp.dir}/k3s.service"\n`,
    'k3s-airgap-images-amd64.tar.zst': 'images',
  };
  for (const [n, c] of Object.entries(files)) writeFileSync(join(bundle, n), c);
  writeFileSync(
    join(bundle, 'SHA256SUMS'),
    Object.entries(files)
      .map(([n, c]) => `${createHash('sha256').update(c).digest('hex')}  ${n}\n`)
      .join(''),
  );
  mkdirSync(join(tmp.dir, 'apps/manifests'), { recursive: true });
  writeFileSync(join(tmp.dir, 'apps/manifests/demo.yaml'), 'kind: Namespace\n');
  writeFileSync(
    join(tmp.dir, 'k3s.env'),
    `K3S_USER=''\nK3S_DATA_DIR='${join(tmp.dir, 'opt/rancher/k3s')}'\nK3S_EXTRA_ARGS=( '--disable=traefik' )\n`,
  );
  mkdirSync(join(tmp.dir, 'bin'));
  writeFileSync(
    join(tmp.dir, 'bin/systemctl'),
    `#!/bin/sh\necho "systemctl $*" >>"${tmp.dir}/systemctl.log"\ncase "$*" in *start*) touch "${tmp.dir}/started" ;; *is-failed*) exit 1 ;; esac\nexit 0\n`,
  );
  chmodSync(join(tmp.dir, 'bin/systemctl'), 0o755);
});
afterEach(() => tmp.cleanup());

function up() {
  const r = spawnSync('bash', [join(SCRIPTS_DIR, 'node/k3s-up.sh')], {
    encoding: 'utf8',
    env: {
      PATH: `${join(tmp.dir, 'bin')}:/usr/bin:/bin`,
      // test seam: the stub systemctl first (the script sets its own PATH otherwise)
      MI_K3S_PATH: `${join(tmp.dir, 'bin')}:/usr/bin:/bin`,
      MI_K3S_BASE: base,
      MI_K3S_ENV: join(tmp.dir, 'k3s.env'),
      MI_K3S_CONSOLE: join(tmp.dir, 'console'),
      MI_K3S_USER_APPS: join(tmp.dir, 'apps'),
      MI_K3S_UNIT_FILE: join(tmp.dir, 'k3s.service'),
      MI_K3S_WAIT_SECONDS: '20',
    },
  });
  const consoleText = existsSync(join(tmp.dir, 'console')) ? readFileSync(join(tmp.dir, 'console'), 'utf8') : '';
  return { status: r.status, console: consoleText, stderr: r.stderr };
}

it('installs air-gapped once, places images and manifests, says the cluster is up; again harmlessly', () => {
  const first = up();
  expect(first.console, first.stderr).toMatch(/MAKE-ISO-K3S: cluster up: node1 Ready control-plane 1m v1\n$/);
  expect(first.status).toBe(0);
  expect(readFileSync(join(tmp.dir, 'install.log'), 'utf8')).toBe(
    `INSTALL_K3S_BIN_DIR=${base}/k3s/bin\nINSTALL_K3S_EXEC=server --disable=traefik\nINSTALL_K3S_SELINUX_WARN=true\nINSTALL_K3S_SKIP_DOWNLOAD=true\nINSTALL_K3S_SKIP_SELINUX_RPM=true\nINSTALL_K3S_SKIP_START=true\n`,
  );
  expect(existsSync(join(tmp.dir, 'opt/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst'))).toBe(true);
  expect(readFileSync(join(tmp.dir, 'opt/rancher/k3s/server/manifests/demo.yaml'), 'utf8')).toBe('kind: Namespace\n');
  expect(
    execFileSync('readlink', [join(base, 'k3s/bin/kubectl')])
      .toString()
      .trim(),
  ).toBe('k3s');
  const second = up();
  expect(second.status).toBe(0);
  expect(readFileSync(join(tmp.dir, 'install.log'), 'utf8').match(/SKIP_DOWNLOAD/g)).toHaveLength(1);
});

it('refuses a bundle that no longer matches its checksums, saying so on the console', () => {
  writeFileSync(join(base, 'k3s-bundle/install.sh'), '#!/bin/sh\necho tampered\n');
  const r = up();
  expect(r.status).toBe(1);
  expect(r.console).toMatch(/^MAKE-ISO-K3S: FAILED: the k3s bundle in .* does not match its checksums/m);
  expect(existsSync(join(tmp.dir, 'install.log'))).toBe(false);
});
