// Why: issue 4's "done when": the ISO boots in QEMU, the installer puts the OS image on the right disk, configured, and the node then boots it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildIso } from '../../src/build.js';
import { sha256File } from '../../src/io/hash.js';
import { silent } from '../../src/progress.js';
import { shellAssignments, type ShellValue } from '../../src/render/shell.js';
import { createDisk, createOvmfVars, qemuEscape, startVm, stopAllVms, type TargetDisk } from '../helpers/qemu.js';
import { HASH, KEY, validEnv } from '../unit/installer/install-env.js';
import { debugfsCat, extractPartition, fileSha, sh, stepDurations } from '../helpers/disk-image.js';
import {
  BOOT_BUDGET_MS,
  INSTALL_BUDGET_MS,
  INSTALL_RESULT as OK,
  VM_HARD_LIMIT_MS,
  buildFixtureIso,
} from '../helpers/iso.js';

const fx = inject('fixtures');

let dir = '';
let iso = '';
let isoKernelArgs: string[] = [];
let osRaw = '';
const timings: string[] = [];

/** An installer ISO of the full-gzip fixture bootkit and OS image, with these install.env values. */
async function makeIso(name: string, over: Record<string, ShellValue> = {}): Promise<string> {
  const osImageSha256 = await sha256File(fx.osImage);
  const r = await buildIso(
    {
      bootkit: { archive: fx.builds['full-gzip'].tarball },
      osImage: fx.osImage,
      output: join(dir, `${name}.iso`),
      installer: {
        config: {
          installEnv: shellAssignments(
            validEnv({
              MI_OS_IMAGE: `images/${basename(fx.osImage)}`,
              MI_OS_IMAGE_SHA256: osImageSha256,
              MI_AFTER_INSTALL: 'reboot',
              ...over,
            }),
          ),
        },
      },
      answersDigest: `e2e-install-${name}`,
      redactedAnswers: {},
      bootTimeout: 1,
    },
    silent,
  );
  return r.output;
}

/** Partition lines of `sfdisk -d` without device names: start, size, type, uuid, name. */
const partitions = (file: string): string[] =>
  sh('sfdisk -d "$1"', file)
    .split('\n')
    .filter((l) => l.includes(' : start='))
    .map((l) => l.replace(/^\S+ : /, ''));

/** The installed disk holds the image's partitions and the answers in its rootfs; returns the installer log. */
function expectInstalled(disk: string): string {
  // the installer grows edge_persistent (the last partition) to the end of the disk
  const grown = (l: string) => l.replace(/size=\s*\d+/, 'size=N');
  expect(partitions(disk).map(grown)).toEqual(partitions(osRaw).map(grown));
  const root = extractPartition(disk, 'rootfs', join(dir, `${Math.random().toString(36).slice(2)}.rootfs`));
  expect(debugfsCat(root, '/etc/shadow')).toContain(`edge:${HASH}:`);
  expect(debugfsCat(root, '/home/edge/.ssh/authorized_keys')).toBe(`${KEY}\n`);
  expect(debugfsCat(root, '/etc/environment')).toContain('http_proxy="http://proxy.example:3128"');
  expect(debugfsCat(root, '/etc/environment')).toContain('HTTPS_PROXY="http://proxy.example:3128"');
  const log = debugfsCat(root, '/var/log/make-iso-installer.log');
  expect(log).toContain('MAKE-ISO-INSTALLER: step 10/10: finish');
  return log;
}

/** QEMU args for the ISO as a USB stick and an NVMe disk, without bootindex: the firmware's BootOrder decides. */
function noBootIndexArgs(isoPath: string, nvmeDisk: string): string[] {
  return [
    '-drive',
    `file=${qemuEscape(isoPath)},format=raw,readonly=on,if=none,id=usb0`,
    '-device',
    'qemu-xhci,id=xhci',
    '-device',
    'usb-storage,bus=xhci.0,drive=usb0,removable=on',
    '-drive',
    `file=${qemuEscape(nvmeDisk)},format=raw,if=none,id=disk0`,
    '-device',
    'nvme,drive=disk0,serial=NVME-TARGET',
  ];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-install-'));
  osRaw = join(dir, 'os-image.raw');
  sh('gzip -dc <"$1" >"$2"', fx.osImage, osRaw);
  // The main ISO comes from an answers file, through the CLI's own path, so these tests also
  // prove that the answers reach the installed system (user, hash, key, proxy).
  const built = await buildFixtureIso(fx, {
    dir,
    name: 'installer.iso',
    answers: {
      user: { name: 'edge', passwordHash: HASH, sshKeys: [KEY] },
      hostname: 'node-1',
      proxy: { http: 'http://proxy.example:3128', https: 'http://proxy.example:3128', noProxy: 'localhost,127.0.0.1' },
      // no ntp.servers: this stub OS image has no chrony, so the build would refuse them
      // (test/e2e/standalone-node.test.ts covers NTP on the EMT-shaped image)
      afterInstall: 'reboot',
    },
  });
  iso = built.output;
  isoKernelArgs = built.manifest.kernelArgs;
});
afterEach(async () => {
  await stopAllVms();
});
afterAll(async () => {
  if (timings.length > 0) process.stderr.write(`install timings (TCG): ${timings.join('; ')}\n`);
  await rm(dir, { recursive: true, force: true });
});

describe('installer in QEMU', () => {
  it('UEFI, ISO as a USB stick, blank NVMe: installs, then the node boots the installed disk with the ISO still attached', async () => {
    const vars = await createOvmfVars(join(dir, 'uefi-usb-nvme.vars.fd'));
    const nvme = await createDisk(join(dir, 'uefi-usb-nvme.img'), 2);
    const vm = await startVm({
      name: 'install UEFI USB -> NVMe',
      firmware: 'uefi',
      ovmfVars: vars,
      media: { kind: 'usb', iso },
      disks: [{ path: nvme, bus: 'nvme', serial: 'NVME-TARGET' }],
      serialLog: join(dir, 'uefi-usb-nvme.serial.log'),
      timeoutMs: VM_HARD_LIMIT_MS,
    });
    const started = await vm.waitFor('MAKE-ISO-INSTALLER: started', BOOT_BUDGET_MS);
    const done = await vm.waitFor(OK, INSTALL_BUDGET_MS);
    expect(done.line).toBe('MAKE-ISO-INSTALLER: SUCCESS: installed images/os-image.raw.gz on /dev/nvme0n1');
    const log = vm.serialLog();
    expect(log).toMatch(/UEFI: Boot[0-9A-F]{4} "Edge Microvisor Toolkit" -> \/dev\/nvme0n1p1 .*first in BootOrder/);
    await vm.waitForExit(2 * 60_000); // the guest reboots; -no-reboot ends QEMU
    timings.push(
      `UEFI/USB->NVMe: installer started ${(started.elapsedMs / 1000).toFixed(0)} s after power-on, ` +
        `install complete at ${(done.elapsedMs / 1000).toFixed(0)} s`,
    );
    timings.push(`UEFI/USB->NVMe installer steps: ${stepDurations(expectInstalled(nvme))}`);

    // Same machine (same OVMF vars), ISO still plugged in, no bootindex: BootOrder must pick the NVMe.
    const again = await startVm({
      name: 'boot the installed NVMe',
      firmware: 'uefi',
      ovmfVars: vars,
      media: { kind: 'none' },
      extraArgs: noBootIndexArgs(iso, nvme),
      serialLog: join(dir, 'uefi-usb-nvme.reboot.serial.log'),
      timeoutMs: VM_HARD_LIMIT_MS,
    });
    const booted = await again.waitFor(fx.markers.osImage, BOOT_BUDGET_MS);
    expect(again.serialLog()).not.toContain('MAKE-ISO-INSTALLER: started');
    timings.push(`reboot into the installed disk: marker at ${(booted.elapsedMs / 1000).toFixed(0)} s`);
  });

  it('BIOS from CD onto a SATA disk: installs and powers off', async () => {
    const sataIso = await makeIso('bios-cd', { MI_AFTER_INSTALL: 'poweroff' });
    const sata = await createDisk(join(dir, 'bios-cd-sata.img'), 2);
    const vm = await startVm({
      name: 'install BIOS CD -> SATA',
      firmware: 'bios',
      media: { kind: 'cdrom', iso: sataIso },
      disks: [{ path: sata, bus: 'sata', serial: 'SATA-TARGET' }],
      serialLog: join(dir, 'bios-cd-sata.serial.log'),
      timeoutMs: VM_HARD_LIMIT_MS,
    });
    const done = await vm.waitFor(OK, BOOT_BUDGET_MS + INSTALL_BUDGET_MS);
    expect(done.line).toBe('MAKE-ISO-INSTALLER: SUCCESS: installed images/os-image.raw.gz on /dev/sda');
    expect(vm.serialLog()).toContain('BIOS: the image has no BIOS boot code; /dev/sda boots by UEFI only');
    await vm.waitForExit(2 * 60_000);
    timings.push(`BIOS/CD->SATA: install complete at ${(done.elapsedMs / 1000).toFixed(0)} s`);
    timings.push(`BIOS/CD->SATA installer steps: ${stepDurations(expectInstalled(sata))}`);
  });

  it('two disks: the default policy takes the NVMe over a smaller SATA disk and leaves the SATA disk untouched', async () => {
    const nvme = await createDisk(join(dir, 'two-nvme.img'), 2);
    const sata = await createDisk(join(dir, 'two-sata.img'), 1);
    sh('printf "keep me" | dd of="$1" bs=512 seek=2048 conv=notrunc status=none', sata);
    const before = fileSha(sata);
    const disks: TargetDisk[] = [
      { path: sata, bus: 'sata', serial: 'SATA-KEEP' },
      { path: nvme, bus: 'nvme', serial: 'NVME-TARGET' },
    ];
    const vm = await startVm({
      name: 'install with two disks',
      firmware: 'bios',
      media: { kind: 'cdrom', iso },
      disks,
      serialLog: join(dir, 'two.serial.log'),
      timeoutMs: VM_HARD_LIMIT_MS,
    });
    const done = await vm.waitFor(OK, BOOT_BUDGET_MS + INSTALL_BUDGET_MS);
    expect(done.line).toBe('MAKE-ISO-INSTALLER: SUCCESS: installed images/os-image.raw.gz on /dev/nvme0n1');
    expect(vm.serialLog()).toMatch(/make-iso-installer: sda .*rejected: lower preference/);
    await vm.waitForExit(2 * 60_000);
    expectInstalled(nvme);
    expect(fileSha(sata)).toBe(before);
  });

  it("plan mode (the boot menu's plan entry): the table and the steps, PLAN COMPLETE, nothing written", async () => {
    const out = join(dir, 'plan-boot');
    sh(
      'mkdir -p "$2" && xorriso -osirrox on -indev "$1" -extract /boot/vmlinuz "$2/vmlinuz" -extract /boot/initrd.img "$2/initrd.img" 2>/dev/null',
      iso,
      out,
    );
    const nvme = await createDisk(join(dir, 'plan-nvme.img'), 1);
    const before = fileSha(nvme);
    const vm = await startVm({
      name: 'plan mode',
      firmware: 'bios',
      media: {
        kind: 'kernel',
        kernel: join(out, 'vmlinuz'),
        initrd: join(out, 'initrd.img'),
        append: [...isoKernelArgs, 'makeiso.plan=1'].join(' '),
      },
      disks: [{ path: nvme, bus: 'nvme', serial: 'NVME-PLAN' }],
      extraArgs: [
        '-drive',
        `file=${qemuEscape(iso)},media=cdrom,readonly=on,if=none,id=cd0`,
        '-device',
        'ide-cd,drive=cd0,bus=ide.2',
      ],
      serialLog: join(dir, 'plan.serial.log'),
      timeoutMs: VM_HARD_LIMIT_MS,
    });
    await vm.waitFor(/MAKE-ISO-INSTALLER: (PLAN COMPLETE|FAILED)/, BOOT_BUDGET_MS + INSTALL_BUDGET_MS);
    const log = vm.serialLog();
    expect(log).toContain('MAKE-ISO-INSTALLER: PLAN COMPLETE');
    expect(log).toMatch(/MAKE-ISO-INSTALLER: PLAN: nvme0n1 .*chosen/);
    expect(log).toMatch(/MAKE-ISO-INSTALLER: PLAN: sr0 .*rejected: install media/);
    expect(log).toContain(
      'MAKE-ISO-INSTALLER: PLAN: step 5/10: write images/os-image.raw.gz (90 MiB) to /dev/nvme0n1, erasing it',
    );
    expect(log).not.toContain('step 5/10: write the OS image');
    await vm.stop();
    expect(fileSha(nvme)).toBe(before);
  });

  it('a corrupted OS image: FAILED line, nothing written, no reboot', async () => {
    const badIso = await makeIso('corrupt', { MI_OS_IMAGE_SHA256: '0'.repeat(64) });
    const nvme = await createDisk(join(dir, 'corrupt-nvme.img'), 1);
    const before = fileSha(nvme);
    const vm = await startVm({
      name: 'corrupted image',
      firmware: 'bios',
      media: { kind: 'cdrom', iso: badIso },
      disks: [{ path: nvme, bus: 'nvme', serial: 'NVME-TARGET' }],
      serialLog: join(dir, 'corrupt.serial.log'),
      timeoutMs: VM_HARD_LIMIT_MS,
    });
    const done = await vm.waitFor(OK, BOOT_BUDGET_MS + INSTALL_BUDGET_MS);
    expect(done.line).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 3\/10 \(verify the OS image on the media\): the OS image images\/os-image\.raw\.gz is damaged/,
    );
    await new Promise((r) => setTimeout(r, 15_000));
    expect(vm.exited).toBe(false); // no reboot, no poweroff
    await vm.stop();
    expect(fileSha(nvme)).toBe(before);
  });

  it('no eligible disk (the only disk holds partitions, wiping not opted in): FAILED line, no reboot', async () => {
    const used = await createDisk(join(dir, 'used.img'), 1);
    sh('printf "label: gpt\\nsize=64MiB, type=L, name=data\\n" | sfdisk -q "$1"', used);
    const before = fileSha(used);
    const vm = await startVm({
      name: 'no eligible disk',
      firmware: 'bios',
      media: { kind: 'cdrom', iso },
      disks: [{ path: used, bus: 'sata', serial: 'SATA-USED' }],
      serialLog: join(dir, 'none.serial.log'),
      timeoutMs: VM_HARD_LIMIT_MS,
    });
    const done = await vm.waitFor(OK, BOOT_BUDGET_MS + INSTALL_BUDGET_MS);
    expect(done.line).toMatch(/^MAKE-ISO-INSTALLER: FAILED: step 4\/10 \(choose the target disk\): no disk matches/);
    expect(vm.serialLog()).toMatch(
      /sda .*rejected: has 1 partition\(s\) \(set the wipe-existing option to overwrite\)/,
    );
    await new Promise((r) => setTimeout(r, 10_000));
    expect(vm.exited).toBe(false);
    await vm.stop();
    expect(fileSha(used)).toBe(before);
  });
});
