// Why: the default (overlay) ISO did not boot on dracut-ng bootkits: a directory entry over the
// /usr/lib/dracut/hooks compat symlink hid the vendor's mount hook. These boots build both modes
// from a Debian trixie (dracut-ng 106) bootkit, whose initramfs has exactly that symlink, and
// check the installer starts, no provisioning service runs, and the root tmpfs has tmpfsSize.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readDracutLayout } from '../../src/initramfs/layout.js';
import { ensureDracutNgFixtures, provisioningMarker, type DracutNgFixtures } from '../helpers/fixtures.js';
import { buildFixtureIso } from '../helpers/iso.js';
import { startVm, stopAllVms, type Vm } from '../helpers/qemu.js';

const BOOT_BUDGET_MS = 5 * 60_000;
const INSTALLER_STARTED = 'MAKE-ISO-INSTALLER: started';

let fx: DracutNgFixtures;
let dir: string;
beforeAll(async () => {
  fx = await ensureDracutNgFixtures();
  dir = await mkdtemp(join(tmpdir(), 'make-iso-dracut-ng-'));
});
afterEach(async () => {
  await stopAllVms();
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Waits for the installer and the end of boot; no provisioning unit ran; the root tmpfs size. */
async function expectInstaller(vm: Vm, sizeKiB: number): Promise<number> {
  const started = await vm.waitFor(INSTALLER_STARTED, BOOT_BUDGET_MS);
  await vm.waitFor(fx.markers.ready, BOOT_BUDGET_MS);
  const log = vm.serialLog();
  for (const unit of [...fx.provisioningUnits, ...fx.disabledUnits]) {
    expect(log, `${unit} must not run`).not.toContain(provisioningMarker(fx, unit));
  }
  // make-iso-tmpfs-size.service prints the /proc/mounts line of / after resizing it.
  expect(log).toContain('make-iso: root tmpfs is now:');
  expect(log).toMatch(new RegExp(` / tmpfs [^\\n]*size=${sizeKiB}k`));
  return started.elapsedMs;
}

describe('ISO from a dracut-ng (Debian trixie) bootkit', () => {
  it('the fixture has the dracut-ng layout with the compat symlink', async () => {
    expect(fx.suite).toBe('trixie');
    const layout = await readDracutLayout(fx.builds['full-gzip'].initramfs);
    expect(layout).toMatchObject({
      recognised: true,
      kind: 'dracut-ng',
      hookPath: 'var/lib/dracut/hooks/pre-pivot/99-make-iso.sh',
      missingDirs: [],
    });
    expect(layout.recognised && layout.description).toContain('/usr/lib/dracut/hooks links there');
  });

  it('overlay (mode auto) boots by BIOS from CD: installer starts, no provisioning, tmpfs 1536M', async () => {
    const iso = await buildFixtureIso(fx, { dir, name: 'ng-overlay.iso', answers: { tmpfsSize: '1536M' } });
    expect(iso.manifest.initramfsMode).toBe('overlay');
    expect(iso.events.map((e) => e.message ?? '').join('\n')).toContain(
      'overlay mode: dracut-ng: hooks in /var/lib/dracut/hooks',
    );
    const vm = await startVm({
      name: 'dracut-ng BIOS CD (overlay)',
      firmware: 'bios',
      media: { kind: 'cdrom', iso: iso.output },
      serialLog: join(dir, 'ng-overlay.log'),
      timeoutMs: BOOT_BUDGET_MS + 60_000,
    });
    const ms = await expectInstaller(vm, 1536 * 1024);
    // the hook ran from var/lib/dracut/hooks/pre-pivot: it logs what it masked
    expect(vm.serialLog()).toContain('make-iso: masked tink-worker.service');
    process.stderr.write(`dracut-ng BIOS CD overlay boot: installer started after ${(ms / 1000).toFixed(1)} s\n`);
  });

  it('rewrite boots by UEFI from a USB disk: installer starts, no provisioning, tmpfs 1280M', async () => {
    const iso = await buildFixtureIso(fx, {
      dir,
      name: 'ng-rewrite.iso',
      answers: { mode: 'rewrite', tmpfsSize: '1280M' },
    });
    expect(iso.manifest.initramfsMode).toBe('rewrite');
    const vm = await startVm({
      name: 'dracut-ng UEFI USB (rewrite)',
      firmware: 'uefi',
      media: { kind: 'usb', iso: iso.output },
      serialLog: join(dir, 'ng-rewrite.log'),
      timeoutMs: BOOT_BUDGET_MS + 60_000,
    });
    const ms = await expectInstaller(vm, 1280 * 1024);
    process.stderr.write(`dracut-ng UEFI USB rewrite boot: installer started after ${(ms / 1000).toFixed(1)} s\n`);
  });
});
