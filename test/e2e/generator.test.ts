// Why: the generator's promise, proven on real boots: an ISO built from the Debian bootkit
// boots by BIOS from CD and by UEFI from a USB disk, starts the installer unit, and runs none
// of the provisioning services; builds are reproducible and bad bootkits are refused.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256File } from '../../src/io/hash.js';
import { inspectIso } from '../../src/iso/inspect.js';
import { provisioningMarker } from '../helpers/fixtures.js';
import { buildFixtureIso } from '../helpers/iso.js';
import { startVm, stopAllVms, type Vm } from '../helpers/qemu.js';

const fx = inject('fixtures');
const BOOT_BUDGET_MS = 5 * 60_000;
const INSTALLER_STARTED = 'MAKE-ISO-INSTALLER: started';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-gen-'));
});
afterEach(async () => {
  await stopAllVms();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Waits for the installer and the end of boot, then checks no provisioning unit ran. */
async function expectInstallerNotProvisioning(vm: Vm): Promise<number> {
  const started = await vm.waitFor(INSTALLER_STARTED, BOOT_BUDGET_MS);
  await vm.waitFor(fx.markers.ready, BOOT_BUDGET_MS);
  const log = vm.serialLog();
  for (const unit of [...fx.provisioningUnits, ...fx.disabledUnits]) {
    expect(log, `${unit} must not run`).not.toContain(provisioningMarker(fx, unit));
  }
  // the overlay hook (or the rewritten rootfs) masked every provisioning unit it found
  return started.elapsedMs;
}

describe('generated ISO', () => {
  it('boots by BIOS from CD (overlay mode): installer starts, no provisioning service runs', async () => {
    const iso = await buildFixtureIso(fx, { dir, name: 'bios-cd.iso', answers: { mode: 'overlay' } });
    const report = await execa('xorriso', ['-indev', iso.output, '-report_el_torito', 'plain']);
    expect(report.stdout).toMatch(/El Torito boot img :\s+1\s+BIOS/);
    expect(report.stdout).toMatch(/El Torito boot img :\s+2\s+UEFI/);
    const info = await inspectIso(iso.output);
    expect(info.bootModes).toEqual(['bios-cd', 'bios-usb', 'uefi-cd', 'uefi-usb']);
    expect(info.manifest?.services.masked).toEqual(expect.arrayContaining(fx.provisioningUnits));
    expect(info.manifest?.rootfsAdded.map((f) => f.path)).toContain('usr/lib/make-iso/installer.sh');

    const vm = await startVm({
      name: 'BIOS CD',
      firmware: 'bios',
      media: { kind: 'cdrom', iso: iso.output },
      serialLog: join(dir, 'bios-cd.log'),
      timeoutMs: BOOT_BUDGET_MS + 60_000,
    });
    const ms = await expectInstallerNotProvisioning(vm);
    const log = vm.serialLog();
    expect(log).toContain('make-iso: masked tink-worker.service');
    process.stderr.write(`BIOS CD boot: installer started after ${(ms / 1000).toFixed(1)} s\n`);
  });

  it('boots by UEFI from a USB disk (rewrite mode, zstd initramfs): installer starts, no provisioning', async () => {
    const iso = await buildFixtureIso(fx, {
      dir,
      build: 'full-zstd',
      name: 'uefi-usb.iso',
      answers: { mode: 'rewrite' },
    });
    const vm = await startVm({
      name: 'UEFI USB',
      firmware: 'uefi',
      media: { kind: 'usb', iso: iso.output },
      serialLog: join(dir, 'uefi-usb.log'),
      timeoutMs: BOOT_BUDGET_MS + 60_000,
    });
    const ms = await expectInstallerNotProvisioning(vm);
    process.stderr.write(`UEFI USB boot: installer started after ${(ms / 1000).toFixed(1)} s\n`);
  });

  it('is reproducible: the same inputs give the same sha256', async () => {
    const a = await buildFixtureIso(fx, { dir, name: 'r1.iso' });
    const b = await buildFixtureIso(fx, { dir, name: 'r2.iso' });
    expect(await sha256File(a.output)).toBe(await sha256File(b.output));
    expect(a.volid).toBe(b.volid);
  });

  it('refuses a bootkit without the installer tools, naming them, and leaves no output', async () => {
    const out = join(dir, 'bare.iso');
    await expect(buildFixtureIso(fx, { dir, build: 'bare-gzip', name: 'bare.iso' })).rejects.toThrow(
      /lacks what the installer needs on the node \(5\): efibootmgr \(efibootmgr\); parted \(parted\); pvcreate \(lvm2\)/,
    );
    await expect(sha256File(out)).rejects.toThrow();
    const { stdout } = await execa('ls', ['-A', dir]);
    expect(stdout).not.toMatch(/\.tmp/);
  });
});
