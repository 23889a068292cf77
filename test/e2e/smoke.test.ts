// Why: proves the fixture and the QEMU harness together: the full-gzip bootkit kernel+initramfs boots from tmpfs and runs the four provisioning units.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, inject, test } from 'vitest';
import { provisioningMarker } from '../helpers/fixtures.js';
import { startVm, stopAllVms } from '../helpers/qemu.js';

const fx = inject('fixtures');
// Field notes: ~60 s to multi-user.target under TCG; x3 for a busy machine.
const BOOT_BUDGET_MS = 4 * 60_000;

afterEach(async () => {
  await stopAllVms();
});

test('the full-gzip bootkit boots to multi-user and runs every provisioning unit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'make-iso-smoke-'));
  const build = fx.builds['full-gzip'];
  const vm = await startVm({
    name: 'smoke (full-gzip, -kernel/-initrd)',
    firmware: 'bios',
    media: { kind: 'kernel', kernel: build.kernel, initrd: build.initramfs, append: fx.kernelArgs },
    serialLog: join(dir, 'serial.log'),
    timeoutMs: BOOT_BUDGET_MS + 60_000,
  });
  const timings: string[] = [];
  try {
    for (const unit of fx.provisioningUnits) {
      const hit = await vm.waitFor(provisioningMarker(fx, unit), BOOT_BUDGET_MS);
      timings.push(`${unit}: ${(hit.elapsedMs / 1000).toFixed(1)} s`);
    }
    const ready = await vm.waitFor(fx.markers.ready, 60_000);
    timings.push(`ready: ${(ready.elapsedMs / 1000).toFixed(1)} s`);
    const log = vm.serialLog();
    for (const unit of fx.disabledUnits) expect(log).not.toContain(provisioningMarker(fx, unit));
    expect(log).not.toContain('Failed to start');
  } finally {
    await vm.stop();
  }
  process.stderr.write(`smoke boot, power-on to marker: ${timings.join(', ')}\n`);
  await rm(dir, { recursive: true, force: true });
});
