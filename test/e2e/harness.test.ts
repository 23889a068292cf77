// Why: proves the QEMU harness's failure paths (unexpected exit, hard timeout) carry the serial tail and leave no QEMU behind, on the fast-booting OS image.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { unpackOsImage } from '../helpers/fixtures.js';
import { startVm, stopAllVms } from '../helpers/qemu.js';

const fx = inject('fixtures');
let dir: string;
let disk: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-harness-'));
  disk = await unpackOsImage(fx, join(dir, 'os.raw'));
});
afterAll(async () => {
  await stopAllVms();
  await rm(dir, { recursive: true, force: true });
});

async function qemuPids(serialLog: string): Promise<string[]> {
  const r = await execa('pgrep', ['-f', serialLog], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}

test('a VM that powers off before the marker fails with its last serial lines', async () => {
  const serialLog = join(dir, 'exit.log');
  const vm = await startVm({
    name: 'harness (exit)',
    firmware: 'uefi',
    media: { kind: 'none' },
    disks: [{ path: disk, bus: 'virtio', serial: 'HARNESS' }],
    serialLog,
    timeoutMs: 3 * 60_000,
  });
  try {
    const err = await vm.waitFor('THIS MARKER NEVER APPEARS', 2 * 60_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/harness \(exit\): QEMU exited with code 0 before the console showed/);
    expect((err as Error).message).toContain(fx.markers.osImage);
  } finally {
    await vm.stop();
  }
  expect(await qemuPids(serialLog)).toEqual([]);
});

test('the hard timeout kills QEMU and says so', async () => {
  const serialLog = join(dir, 'timeout.log');
  const vm = await startVm({
    name: 'harness (timeout)',
    firmware: 'bios',
    media: { kind: 'none' },
    serialLog,
    timeoutMs: 3_000,
  });
  try {
    const err = await vm.waitForExit(60_000).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/killed at its hard timeout of 3 s/);
  } finally {
    await vm.stop();
  }
  expect(await qemuPids(serialLog)).toEqual([]);
});

test('stop() ends a running VM and leaves no process', async () => {
  const serialLog = join(dir, 'stop.log');
  const vm = await startVm({
    name: 'harness (stop)',
    firmware: 'bios',
    media: { kind: 'none' },
    serialLog,
    timeoutMs: 60_000,
  });
  await new Promise((r) => setTimeout(r, 1_000));
  expect(await qemuPids(serialLog)).not.toEqual([]);
  await vm.stop();
  await vm.stop();
  expect(vm.exited).toBe(true);
  expect(await qemuPids(serialLog)).toEqual([]);
});
