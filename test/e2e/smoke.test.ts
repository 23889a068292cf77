// Why: proves the fixtures and the QEMU harness together: the full-gzip bootkit boots from tmpfs and runs the four provisioning units, and the OS image boots by UEFI.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, inject, test } from 'vitest';
import { provisioningMarker, unpackOsImage } from '../helpers/fixtures.js';
import { startVm, stopAllVms } from '../helpers/qemu.js';

const fx = inject('fixtures');
// Field notes: ~60 s to multi-user.target under TCG; x3 for a busy machine.
const BOOT_BUDGET_MS = 4 * 60_000;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-smoke-'));
});
afterEach(async () => {
  await stopAllVms();
  await rm(dir, { recursive: true, force: true });
});

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

test('the full-gzip bootkit boots to multi-user and runs every provisioning unit', async () => {
  const build = fx.builds['full-gzip'];
  const vm = await startVm({
    name: 'smoke (full-gzip, -kernel/-initrd)',
    firmware: 'bios',
    media: { kind: 'kernel', kernel: build.kernel, initrd: build.initramfs, append: fx.kernelArgs },
    serialLog: join(dir, 'serial.log'),
    timeoutMs: BOOT_BUDGET_MS + 60_000,
  });
  try {
    const markers = [...fx.provisioningUnits.map((u) => provisioningMarker(fx, u)), fx.markers.ready];
    const hits = await Promise.all(markers.map((m) => vm.waitFor(m, BOOT_BUDGET_MS)));
    const log = vm.serialLog();
    for (const unit of fx.disabledUnits) expect(log).not.toContain(provisioningMarker(fx, unit));
    expect(log).not.toMatch(/Failed to start|emergency mode/i);
    process.stderr.write(
      `smoke boot, power-on to marker: ${markers.map((m, i) => `${m}: ${seconds(hits[i]?.elapsedMs ?? NaN)}`).join('; ')}\n`,
    );
  } finally {
    await vm.stop();
  }
});

test('the OS image boots by UEFI from an NVMe disk and prints its marker', async () => {
  const disk = await unpackOsImage(fx, join(dir, 'os.raw'));
  const vm = await startVm({
    name: 'smoke (OS image, UEFI)',
    firmware: 'uefi',
    media: { kind: 'none' },
    disks: [{ path: disk, bus: 'nvme', serial: 'SMOKE-OS' }],
    serialLog: join(dir, 'os-serial.log'),
    timeoutMs: 3 * 60_000,
  });
  try {
    const hit = await vm.waitFor(fx.markers.osImage, 2 * 60_000);
    expect(await vm.waitForExit(60_000)).toBe(0);
    process.stderr.write(`OS image UEFI boot, power-on to marker: ${seconds(hit.elapsedMs)}\n`);
  } finally {
    await vm.stop();
  }
});
