// Why: the node's failure paths (issue 16) in QEMU: a target disk too small, the image's bytes
// damaged on the media, an image file system the kernel cannot mount, an old disk with the same
// EMT partition labels next to the target, a stale volume group lvmvg on another disk, and the
// media ejected while the image is written. Each must end in the documented FAILED line (or, for
// the old disk, SUCCESS on the right disk), never reboot, leave the disks untouched or cleanly
// cleared, and print the log on the console. Whatever can be known before writing fails before.
import { createConnection } from 'node:net';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { cleanSerial, createDisk, qemuEscape, startVm, stopAllVms, type TargetDisk, type Vm } from '../helpers/qemu.js';
import { extractPartition, fileSha, sh } from '../helpers/disk-image.js';
import {
  BOOT_BUDGET_MS,
  INSTALL_BUDGET_MS,
  INSTALL_RESULT as RESULT,
  VM_HARD_LIMIT_MS,
  buildFixtureIso,
  installFromCd,
} from '../helpers/iso.js';

const fx = inject('fixtures');
/** How long a failed install is watched for a reboot or power-off that must not come. */
const NO_REBOOT_WATCH_MS = 10_000;

let dir = '';
let plainIso = '';
let lvmIso = '';
let osRaw = '';

/** The partition-table type blkid finds on a disk image ('' when there is none). */
const ptType = (file: string): string => sh('blkid -p -o value -s PTTYPE "$1" || true', file).trim();

/** An installer ISO of the fixtures with these answers (afterInstall poweroff unless given). */
async function iso(
  name: string,
  answers: Record<string, unknown> = {},
  osImage?: string,
  unprobed = false,
): Promise<string> {
  const r = await buildFixtureIso(fx, {
    ...(unprobed ? { unprobed } : {}),
    dir,
    name: `${name}.iso`,
    answers: { afterInstall: 'poweroff', ...answers },
    ...(osImage ? { osImage } : {}),
  });
  return r.output;
}

/** Boots ISO from the CD with these disks (BIOS) and waits for the SUCCESS or FAILED line. */
const install = (ctx: TestContext, name: string, isoPath: string, disks: TargetDisk[]) =>
  installFromCd(ctx, { name, iso: isoPath, dir, disks });

/**
 * A failed install: no reboot or power-off follows, the installer ran once, the log is printed on
 * the console (with the reason) before the FAILED line, which names the log file.
 */
async function expectFailedCleanly(vm: Vm, line: string, reason: RegExp): Promise<string> {
  expect(line).toMatch(reason);
  expect(line).toMatch(/; nothing rebooted; log: \/var\/log\/make-iso-installer\.log$/);
  await new Promise((r) => setTimeout(r, NO_REBOOT_WATCH_MS));
  expect(vm.exited, 'a failed install must not reboot or power off').toBe(false);
  const serial = cleanSerial(vm.serialLog());
  expect(serial.match(/^MAKE-ISO-INSTALLER: started/gm), 'the installer ran once').toHaveLength(1);
  expect(serial).toContain('make-iso-installer: the installer log follows (/var/log/make-iso-installer.log)');
  expect(serial).toMatch(/make-iso-log: \S+ \S+ error: /);
  await vm.stop();
  return serial;
}

/** Sends one QMP command to a QEMU listening on SOCKET; resolves with its reply. */
function qmp(socket: string, command: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let buf = '';
    let sent = 0;
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`QMP on ${socket}: no reply within 20 s (got: ${buf})`));
    }, 20_000);
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    conn.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.trim()) continue;
        const msg = JSON.parse(l) as Record<string, unknown>;
        if ('QMP' in msg && sent === 0) {
          sent = 1;
          conn.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        } else if (('return' in msg || 'error' in msg) && sent === 1) {
          sent = 2;
          conn.write(`${JSON.stringify(command)}\n`);
        } else if (('return' in msg || 'error' in msg) && sent === 2) {
          clearTimeout(timer);
          conn.end();
          resolve(msg);
        }
      }
    });
  });
}

let appsIsoPath = '';
/** An ISO whose answers carry user apps (4 files of 2 MiB random bytes), built once. */
async function appsIsoOnce(): Promise<string> {
  if (appsIsoPath) return appsIsoPath;
  const apps = join(dir, 'apps');
  await mkdir(apps);
  for (let i = 0; i < 4; i++) await writeFile(join(apps, `app-${i}.bin`), randomBytes(2 * 2 ** 20));
  appsIsoPath = await iso('apps', { userAppsDir: apps });
  return appsIsoPath;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-node-failures-'));
  osRaw = join(dir, 'os-image.raw');
  sh('gzip -dc <"$1" >"$2"', fx.osImage, osRaw);
  plainIso = await iso('plain');
  lvmIso = await iso('lvm', { lvm: { sizeGiB: 1 } });
});
afterEach(async () => {
  await stopAllVms();
});
afterAll(async () => {
  // MAKE_ISO_KEEP_E2E=1 keeps the serial logs and disks for a look after a failure
  if (process.env.MAKE_ISO_KEEP_E2E === '1') process.stderr.write(`node-failures: kept ${dir}\n`);
  else await rm(dir, { recursive: true, force: true });
});

describe('the node fails safely in QEMU', () => {
  it('the only disk is smaller than the image: FAILED at step 4, disk untouched', async (ctx) => {
    const small = await createDisk(join(dir, 'small.img'), 64 / 1024);
    const before = fileSha(small);
    const { vm, line } = await install(ctx, 'disk too small', plainIso, [
      { path: small, bus: 'nvme', serial: 'NVME-SMALL' },
    ]);
    const serial = await expectFailedCleanly(
      vm,
      line,
      /^MAKE-ISO-INSTALLER: FAILED: step 4\/10 \(choose the target disk\): no disk matches/,
    );
    expect(serial).toMatch(/nvme0n1 +64 MiB .*rejected: too small \(needs 90 MiB\)/);
    expect(fileSha(small)).toBe(before);
  });

  it("the image's bytes are damaged on the media (install.env's sha256 is right): FAILED at step 3, disk untouched", async (ctx) => {
    // flip 16 bytes in the middle of images/os-image.raw.gz inside a copy of a good ISO
    const bad = join(dir, 'damaged.iso');
    await copyFile(plainIso, bad);
    const report = sh('xorriso -indev "$1" -find /images/os-image.raw.gz -exec report_lba -- 2>/dev/null', bad);
    const m = /File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*\d+\s*,\s*(\d+)\s*,/.exec(report);
    if (!m) throw new Error(`cannot find the image's extent in ${bad}:\n${report}`);
    const offset = Number(m[1]) * 2048 + Math.floor(Number(m[2]) / 2);
    sh('head -c 16 /dev/urandom | dd of="$1" bs=1 seek="$2" conv=notrunc status=none', bad, String(offset));
    const nvme = await createDisk(join(dir, 'damaged-nvme.img'), 1);
    const before = fileSha(nvme);
    const { vm, line } = await install(ctx, 'damaged image bytes', bad, [
      { path: nvme, bus: 'nvme', serial: 'NVME-TARGET' },
    ]);
    await expectFailedCleanly(
      vm,
      line,
      /^MAKE-ISO-INSTALLER: FAILED: step 3\/10 \(verify the OS image on the media\): the OS image images\/os-image\.raw\.gz is damaged: sha256 [0-9a-f]{64}, expected [0-9a-f]{64}; nothing was written/,
    );
    expect(fileSha(nvme)).toBe(before);
  });

  it('the image rootfs uses an ext4 feature Linux cannot mount: the build refuses it; an unprobed ISO FAILs at step 3 (before writing), disk untouched', async (ctx) => {
    // the fixture image with the (never supported) compression feature set on its rootfs
    const work = join(dir, 'nofs');
    await mkdir(work);
    const raw = join(work, 'os-image.raw');
    await copyFile(osRaw, raw);
    const line = sh('sfdisk -d "$1"', raw)
      .split('\n')
      .find((l) => l.includes('name="rootfs"'));
    const p = /start=\s*(\d+), size=\s*(\d+)/.exec(line ?? '');
    if (!p) throw new Error('the fixture image has no rootfs partition');
    sh(
      [
        'dd if="$1" of="$2/rootfs" bs=512 skip="$3" count="$4" status=none',
        'debugfs -w -R "feature compression" "$2/rootfs" >/dev/null 2>&1',
        // s_feature_incompat (superblock offset 0x60) now has bit 0 (compression) set
        '(( $(od -An -tu4 -j 1120 -N 4 "$2/rootfs") & 1 ))',
        'dd if="$2/rootfs" of="$1" bs=512 seek="$3" conv=notrunc status=none',
        'gzip -1 -n -c "$1" >"$2/os-image.raw.gz"',
      ].join(' && '),
      raw,
      work,
      p[1]!,
      p[2]!,
    );
    // the build's probe refuses it (debugfs cannot open it either) ...
    await expect(iso('nofs-probed', {}, join(work, 'os-image.raw.gz'))).rejects.toThrow(
      /uses ext4 features that cannot be read or mounted \(compression\)/,
    );
    // ... so the installer's own check is reached with an ISO built without the probe (an older
    // make-iso, or a hand-made ISO)
    const nofsIso = await iso('nofs', {}, join(work, 'os-image.raw.gz'), true);
    const nvme = await createDisk(join(dir, 'nofs-nvme.img'), 1);
    const before = fileSha(nvme);
    const r = await install(ctx, 'unmountable rootfs', nofsIso, [{ path: nvme, bus: 'nvme', serial: 'NVME-TARGET' }]);
    await expectFailedCleanly(
      r.vm,
      r.line,
      /^MAKE-ISO-INSTALLER: FAILED: step 3\/10 \(verify the OS image on the media\): the OS image's rootfs file system uses ext4 features Linux cannot mount read-write \(compression\); nothing was written/,
    );
    expect(fileSha(nvme)).toBe(before);
  });

  describe('reinstall next to an old disk', () => {
    let installedNvme = '';

    it('an old disk with the same EMT partition labels: installs on the new disk, finds its partitions there, old disk untouched', async (ctx) => {
      const old = await createDisk(join(dir, 'old-sata.img'), 1);
      sh('dd if="$1" of="$2" bs=1M conv=notrunc,sparse status=none', osRaw, old);
      const before = fileSha(old);
      installedNvme = await createDisk(join(dir, 'new-nvme.img'), 3);
      const { vm, line } = await install(ctx, 'old disk with the same labels', lvmIso, [
        { path: old, bus: 'sata', serial: 'SATA-OLD' },
        { path: installedNvme, bus: 'nvme', serial: 'NVME-NEW' },
      ]);
      expect(line).toBe('MAKE-ISO-INSTALLER: SUCCESS: installed images/os-image.raw.gz on /dev/nvme0n1');
      const serial = cleanSerial(vm.serialLog());
      expect(serial).toMatch(/make-iso-installer: sda .*rejected: has 3 partition\(s\)/);
      expect(serial).toContain(
        'make-iso-installer: partitions: rootfs=/dev/nvme0n1p2 esp=/dev/nvme0n1p1 edge_persistent=/dev/nvme0n1p3',
      );
      expect(serial).toMatch(/make-iso-installer: LVM: volume group lvmvg on \/dev\/nvme0n1p4 \(1 GiB\)/);
      await vm.waitForExit(2 * 60_000); // afterInstall: poweroff
      expect(fileSha(old)).toBe(before);
      expect(ptType(installedNvme)).toBe('gpt');
    });

    it('a stale volume group lvmvg on another disk, LVM asked for: FAILED at step 4 (before writing), both disks untouched', async (ctx) => {
      if (!installedNvme) throw new Error('needs the disk installed by the previous case');
      const blank = await createDisk(join(dir, 'blank-nvme.img'), 3);
      const beforeOld = fileSha(installedNvme);
      const beforeNew = fileSha(blank);
      const { vm, line } = await install(ctx, 'stale lvmvg on another disk', lvmIso, [
        { path: installedNvme, bus: 'sata', serial: 'SATA-OLD-LVM' },
        { path: blank, bus: 'nvme', serial: 'NVME-NEW' },
      ]);
      await expectFailedCleanly(
        vm,
        line,
        /^MAKE-ISO-INSTALLER: FAILED: step 4\/10 \(choose the target disk\): another disk already holds a volume group named lvmvg \(\/dev\/sda4\); a second one cannot be created on \/dev\/nvme0n1; nothing was written/,
      );
      expect(fileSha(installedNvme)).toBe(beforeOld);
      expect(fileSha(blank)).toBe(beforeNew);
    });
  });

  it('an unreadable sector under the user apps on the media: FAILED at step 3 (before writing), disk untouched', async () => {
    // QEMU's blkdebug driver fails every read of one sector in the middle of the first app file
    const appsIso = await appsIsoOnce();
    const report = sh('xorriso -indev "$1" -find /user-apps -type f -exec report_lba -- 2>/dev/null', appsIso);
    const m = /File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*\d+\s*,\s*'([^']+)'/.exec(report);
    if (!m) throw new Error(`no user apps file in ${appsIso}:\n${report}`);
    const sector = Number(m[1]) * 4 + Number(m[2]) * 2; // 2 KiB blocks, 512-byte sectors: mid-file
    const cfg = join(dir, 'blkdebug.cfg');
    await writeFile(cfg, `[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "${sector}"\n`);
    const nvme = await createDisk(join(dir, 'badsector-nvme.img'), 2);
    const before = fileSha(nvme);
    const vm = await startVm({
      name: 'unreadable sector on the media',
      firmware: 'bios',
      media: { kind: 'none' },
      disks: [{ path: nvme, bus: 'nvme', serial: 'NVME-TARGET' }],
      serialLog: join(dir, 'badsector.serial.log'),
      timeoutMs: VM_HARD_LIMIT_MS,
      extraArgs: [
        '-drive',
        `file=blkdebug:${qemuEscape(cfg)}:${qemuEscape(appsIso)},format=raw,media=cdrom,readonly=on,if=none,id=cd0`,
        '-device',
        'ide-cd,drive=cd0,bus=ide.2,bootindex=0',
      ],
    });
    const done = await vm.waitFor(RESULT, BOOT_BUDGET_MS + INSTALL_BUDGET_MS);
    await expectFailedCleanly(
      vm,
      done.line,
      new RegExp(
        `^MAKE-ISO-INSTALLER: FAILED: step 3/10 \\(verify the OS image on the media\\): cannot read the user apps from the install media \\(user-apps/${m[3]!.replace(/^.*\//, '').replace('.', '\\.')}\\); nothing was written`,
      ),
    );
    expect(fileSha(nvme)).toBe(before);
  });

  it('the CD is ejected while the image is written: a complete, verified install or FAILED with the disk cleared, never a partial SUCCESS', async () => {
    // Steps 3 and 5 have read the image and the user apps by the time step 5 starts (step 3 reads
    // them to fail early on bad sectors), so the page cache may serve every later read: then the
    // install must be whole (apps included). If a read reaches the empty drive, the install must
    // fail and clear the disk. A SUCCESS with user apps missing is the failure this guards.
    const appsIso = await appsIsoOnce();
    const nvme = await createDisk(join(dir, 'eject-nvme.img'), 2);
    const socket = join(dir, 'qmp.sock');
    const vm = await startVm({
      name: 'media ejected mid-install',
      firmware: 'bios',
      media: { kind: 'cdrom', iso: appsIso },
      disks: [{ path: nvme, bus: 'nvme', serial: 'NVME-TARGET' }],
      serialLog: join(dir, 'eject.serial.log'),
      timeoutMs: VM_HARD_LIMIT_MS,
      extraArgs: ['-qmp', `unix:${socket},server=on,wait=off`],
    });
    await vm.waitFor('MAKE-ISO-INSTALLER: step 5/10: write the OS image', BOOT_BUDGET_MS + INSTALL_BUDGET_MS);
    const reply = await qmp(socket, { execute: 'eject', arguments: { device: 'cd0', force: true } });
    expect(reply, `QMP eject: ${JSON.stringify(reply)}`).toHaveProperty('return');
    const blocks = (await qmp(socket, { execute: 'query-block' })).return as { device: string; inserted?: unknown }[];
    const cd = blocks.find((b) => b.device === 'cd0');
    expect(cd, JSON.stringify(blocks)).toBeDefined();
    expect(cd, 'the CD drive is empty after the eject').not.toHaveProperty('inserted');
    const done = await vm.waitFor(RESULT, INSTALL_BUDGET_MS);
    process.stderr.write(`node-failures: CD ejected at step 5 -> ${done.line}\n`);
    if (done.line.startsWith('MAKE-ISO-INSTALLER: SUCCESS')) {
      await vm.waitForExit(2 * 60_000); // afterInstall: poweroff
      expect(ptType(nvme)).toBe('gpt');
      const persistent = extractPartition(nvme, 'edge_persistent', join(dir, 'eject-persistent.img'));
      for (let i = 0; i < 4; i++) {
        const onDisk = sh('debugfs -R "cat /user-apps/$2" "$1" 2>/dev/null | sha256sum', persistent, `app-${i}.bin`);
        expect(onDisk.split(' ')[0], `user-apps/app-${i}.bin on edge_persistent`).toBe(
          fileSha(join(dir, 'apps', `app-${i}.bin`)),
        );
      }
    } else {
      const serial = await expectFailedCleanly(
        vm,
        done.line,
        /^MAKE-ISO-INSTALLER: FAILED: step [5-7]\/10 \((write the OS image|verify the written image|configure the installed system)\): /,
      );
      expect(serial).toContain(
        'make-iso-installer: clearing the partition table of /dev/nvme0n1 (the install did not complete)',
      );
      expect(ptType(nvme)).toBe('');
      expect(sh('dd if="$1" bs=512 skip=1 count=1 status=none | head -c 8', nvme)).not.toBe('EFI PART');
    }
  });
});
