// Why: issue 11's "done when": the `bare` bootkit (no efibootmgr, lvm2, parted, gawk) plus the
// Debian packages of those tools and their libraries (apt-get download, cached) builds an ISO
// whose installer passes its preflight and installs in QEMU (UEFI, so efibootmgr runs; with an
// LVM volume group, so parted and pvcreate run); leaving a library package out fails the build
// naming the library and the binary. Build times with and without packages are printed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/version.js';
import { cacheRoot } from '../helpers/fixtures.js';
import { buildFixtureIso } from '../helpers/iso.js';
import { createDisk, createOvmfVars, startVm, stopAllVms } from '../helpers/qemu.js';
import { HASH, KEY } from '../unit/installer/install-env.js';

const fx = inject('fixtures');
/** What `bare` lacks (build-fixtures.sh FULL_PKGS without net-tools, which the installer does not use). */
const TOOL_PACKAGES = ['efibootmgr', 'gawk', 'lvm2', 'parted'];
const BOOT_BUDGET_MS = 4 * 60_000;
const INSTALL_BUDGET_MS = 8 * 60_000;
const OK = /MAKE-ISO-INSTALLER: (SUCCESS|FAILED): .*/;

let dir = '';
let debs = '';
const timings: string[] = [];

const sh = (cmd: string, ...args: string[]): string =>
  execFileSync('bash', ['--norc', '-c', cmd, '_', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 2 ** 20,
  });

/** The .deb files for TOOL_PACKAGES that `bare` lacks, fetched once into the cache. */
async function bareDebs(): Promise<string> {
  const status = join(dir, 'bare-dpkg-status');
  sh(
    'gzip -dcf <"$1" | cpio -i --quiet --to-stdout rootfs.tar.gz | tar -xzO ./var/lib/dpkg/status >"$2"',
    fx.builds['bare-gzip'].initramfs,
    status,
  );
  const key = createHash('sha256')
    .update(await readFile(status))
    .update(TOOL_PACKAGES.join(' '))
    .digest('hex')
    .slice(0, 16);
  const out = join(cacheRoot(), `packages-bare-${key}`);
  const ready = await stat(out).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!ready)
    sh(
      `bash "$1" "$2" "$3" ${TOOL_PACKAGES.join(' ')}`,
      join(projectRoot, 'test/helpers/fetch-packages.sh'),
      status,
      out,
    );
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-packages-'));
  debs = await bareDebs();
});
afterEach(async () => {
  await stopAllVms();
});
afterAll(async () => {
  if (timings.length > 0) process.stderr.write(`packages e2e: ${timings.join('; ')}\n`);
  await rm(dir, { recursive: true, force: true });
});

const answers = { user: { name: 'edge', passwordHash: HASH, sshKeys: [KEY] }, afterInstall: 'reboot' };

describe('a bare bootkit plus packages', () => {
  it('builds (timed against the full bootkit without packages); a missing library package fails naming it', async () => {
    const files = (await readdir(debs)).filter((f) => f.endsWith('.deb'));
    expect(files.map((f) => f.split('_')[0])).toEqual(expect.arrayContaining([...TOOL_PACKAGES, 'libparted2']));

    const full = await buildFixtureIso(fx, { dir, name: 'full.iso', answers });
    const bare = await buildFixtureIso(fx, {
      dir,
      build: 'bare-gzip',
      name: 'bare-packages.iso',
      answers: { ...answers, packages: [debs] },
    });
    const infos = bare.events.filter((e) => e.step === 'packages').map((e) => e.message ?? '');
    expect(infos).toContain(
      'efibootmgr: the bootkit lacks it; added from efibootmgr (' +
        files.find((f) => f.startsWith('efibootmgr_')) +
        ')',
    );
    expect(infos.some((m) => /^pvcreate: the bootkit lacks it; added from lvm2 /.test(m))).toBe(true);
    const paths = bare.manifest.rootfsAdded.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining(['usr/bin/efibootmgr', 'usr/sbin/parted', 'usr/sbin/lvm', 'usr/sbin/pvcreate']),
    );
    timings.push(
      `build without packages (full-gzip) ${full.seconds.toFixed(1)} s; with ${files.length} packages (bare-gzip) ${bare.seconds.toFixed(1)} s`,
    );

    const partial = join(dir, 'no-libparted');
    await mkdir(partial);
    for (const f of files.filter((f) => !f.startsWith('libparted2_'))) await cp(join(debs, f), join(partial, f));
    await expect(
      buildFixtureIso(fx, {
        dir,
        build: 'bare-gzip',
        name: 'no-lib.iso',
        answers: { ...answers, packages: [partial] },
      }),
    ).rejects.toThrow(/lacks \(1\): libparted\.so\.2 \(needed by \/usr\/sbin\/parted/);
  });

  it('installs in QEMU (UEFI, USB stick, NVMe, with an LVM volume group): preflight passes with the added tools', async () => {
    const built = await buildFixtureIso(fx, {
      dir,
      build: 'bare-gzip',
      name: 'install.iso',
      answers: { ...answers, packages: [debs], lvm: { sizeGiB: 1 } },
    });
    const vars = await createOvmfVars(join(dir, 'vars.fd'));
    const nvme = await createDisk(join(dir, 'nvme.img'), 4);
    const vm = await startVm({
      name: 'install bare+packages UEFI USB -> NVMe',
      firmware: 'uefi',
      ovmfVars: vars,
      media: { kind: 'usb', iso: built.output },
      disks: [{ path: nvme, bus: 'nvme', serial: 'NVME-TARGET' }],
      serialLog: join(dir, 'install.serial.log'),
      timeoutMs: BOOT_BUDGET_MS + INSTALL_BUDGET_MS + 2 * 60_000,
    });
    const started = await vm.waitFor('MAKE-ISO-INSTALLER: started', BOOT_BUDGET_MS);
    const done = await vm.waitFor(OK, INSTALL_BUDGET_MS);
    const log = vm.serialLog();
    expect(done.line, log.slice(-4000)).toMatch(/SUCCESS: installed images\/os-image\.raw\.gz on \/dev\/nvme0n1/);
    expect(log).toMatch(/UEFI: Boot[0-9A-F]{4} "Edge Microvisor Toolkit"/);
    timings.push(
      `install: installer started at ${(started.elapsedMs / 1000).toFixed(0)} s, done at ${(done.elapsedMs / 1000).toFixed(0)} s`,
    );
    expect(log).toMatch(/LVM: volume group lvmvg on \/dev\/nvme0n1p\d+ \(1 GiB\)/);
    expect(sh('sfdisk -d "$1"', nvme)).toContain('name="make-iso-lvm"');
  });
});
