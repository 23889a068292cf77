// Why: each refusal of `make-iso write` is a pure rule; test every one, and that --force, --allow-internal-disk and --unmount only lift the right ones.
import { describe, expect, it } from 'vitest';
import { checkTarget, mountsToUnmount, type SourceFacts, type TargetFacts } from '../../../src/usb/safety.js';
import { describeTarget, progressLine } from '../../../src/cli/commands/write.js';
import { blockFacts } from './lsblk-samples.js';

const GiB = 1024 ** 3;
const iso = { size: 1.2 * GiB, majMin: '0:50' };

function codes(t: TargetFacts, opts = {}, src: SourceFacts = iso): string[] {
  return checkTarget(t, src, opts).map((r) => r.code);
}

function only(t: TargetFacts, opts = {}, src: SourceFacts = iso): string {
  const r = checkTarget(t, src, opts);
  expect(r).toHaveLength(1);
  return r[0]?.message ?? '';
}

describe('block device refusals', () => {
  it('accepts an unmounted USB stick with nothing to force', () => {
    expect(checkTarget(blockFacts('server-sata', '/dev/sdc'), iso)).toEqual([]);
  });

  it('refuses a partition and names its drive', () => {
    expect(only(blockFacts('laptop-nvme-usb', '/dev/sda1'))).toBe(
      '/dev/sda1 is a partition of /dev/sda; write to the whole drive /dev/sda instead (all of it is replaced)',
    );
  });

  it('refuses the drive holding / and /boot even with --force and --unmount', () => {
    const t = blockFacts('laptop-nvme-usb', '/dev/nvme0n1');
    const r = checkTarget(t, iso, { force: true, allowInternalDisk: true, unmount: true });
    expect(r.map((x) => x.code)).toEqual(['system']);
    expect(r[0]?.message).toBe(
      '/dev/nvme0n1 is a system drive (holds /, holds /boot, holds /boot/efi, holds swap); make-iso never writes to it',
    );
  });

  it('refuses the virtio root disk /dev/vda (mounted whole)', () => {
    expect(codes(blockFacts('vm-virtio', '/dev/vda'), { force: true, allowInternalDisk: true })).toEqual(['system']);
  });

  it('refuses an LVM or dm-crypt device: not a whole drive', () => {
    expect(only(blockFacts('laptop-nvme-usb', '/dev/mapper/vg0-root'))).toMatch(
      /^\/dev\/mapper\/vg0-root is a lvm device on \/dev\/nvme0n1, not a whole drive/,
    );
  });

  it('refuses mounted partitions, suggesting --unmount; --unmount lifts it', () => {
    const t = blockFacts('laptop-nvme-usb', '/dev/sda');
    expect(only(t)).toBe(
      '/dev/sda has mounted partitions (/dev/sda1 on /media/alice/KINGSTON); unmount them, or add --unmount',
    );
    expect(checkTarget(t, iso, { unmount: true })).toEqual([]);
    expect(mountsToUnmount(t)).toEqual(['/media/alice/KINGSTON']);
  });

  it('refuses a drive too small for the ISO, even with --force', () => {
    const t = blockFacts('server-sata', '/dev/sdc');
    expect(only(t, { force: true, allowInternalDisk: true }, { size: 40 * GiB })).toBe(
      '/dev/sdc is too small: 28.9 GiB, the ISO needs 40.0 GiB',
    );
  });

  it('refuses a non-removable, non-USB drive unless --allow-internal-disk; --force does not lift it', () => {
    const t = blockFacts('vm-virtio', '/dev/vdb');
    expect(only(t)).toBe(
      '/dev/vdb (0x1af4, 8.0 GiB) is not a removable or USB drive; add --allow-internal-disk if you really mean to overwrite it',
    );
    expect(codes(t, { force: true })).toEqual(['not-removable']);
    expect(checkTarget(t, iso, { allowInternalDisk: true })).toEqual([]);
  });

  it('treats a loop device as non-removable (tests pass --allow-internal-disk)', () => {
    expect(codes(blockFacts('vm-virtio', '/dev/loop3'), {}, { size: 1024 })).toEqual(['not-removable']);
    expect(codes(blockFacts('vm-virtio', '/dev/loop3'), { force: true }, { size: 1024 })).toEqual(['not-removable']);
    expect(codes(blockFacts('vm-virtio', '/dev/loop3'), { allowInternalDisk: true }, { size: 1024 })).toEqual([]);
  });

  it('refuses a read-only drive (write-protect switch)', () => {
    expect(only(blockFacts('server-sata', '/dev/sdd'), {}, { size: 1024 })).toBe(
      '/dev/sdd is read-only; check the write-protect switch of the stick or card',
    );
  });

  it('refuses a drive whose partitions hold an active LVM volume, even unmounted', () => {
    const r = checkTarget(blockFacts('server-sata', '/dev/sdb'), iso, { force: true, allowInternalDisk: true });
    expect(r.map((x) => x.code)).toEqual(['in-use']);
    expect(r[0]?.message).toMatch(/is in use by lvm device data-backups; close it first/);
  });

  it('refuses the drive the ISO is stored on', () => {
    const r = checkTarget(blockFacts('laptop-nvme-usb', '/dev/sda'), { size: GiB, majMin: '8:1' }, { unmount: true });
    expect(r.map((x) => x.code)).toEqual(['holds-source']);
    expect(r[0]?.message).toBe('the ISO is stored on /dev/sda itself; copy the ISO to another drive first');
  });

  it('refuses optical drives and zram', () => {
    expect(only(blockFacts('laptop-nvme-usb', '/dev/sr0'))).toBe('/dev/sr0 is a rom device, not a drive');
    expect(only(blockFacts('vm-virtio', '/dev/zram0'), { force: true, allowInternalDisk: true }, { size: 1 })).toBe(
      '/dev/zram0 is a RAM disk, not a drive',
    );
  });

  it('refuses a block device lsblk does not list', () => {
    expect(codes({ given: '/dev/sdx', path: '/dev/sdx', kind: 'block' })).toEqual(['unknown-device']);
  });

  it('collects several reasons at once', () => {
    const t = blockFacts('laptop-nvme-usb', '/dev/sda');
    expect(codes(t, {}, { size: 20 * GiB })).toEqual(['mounted', 'too-small']);
  });
});

describe('paths that are not block devices', () => {
  it('refuses a character device such as /dev/null', () => {
    expect(only({ given: '/dev/null', path: '/dev/null', kind: 'char' })).toMatch(
      /^\/dev\/null is not a block device \(it is a character device\); give a whole drive/,
    );
  });

  it('refuses a directory', () => {
    expect(only({ given: '/tmp', path: '/tmp', kind: 'directory' })).toBe(
      '/tmp is a directory, not a drive or an image file',
    );
  });

  it('refuses a missing /dev path instead of creating a regular file there', () => {
    expect(only({ given: '/dev/sdb', path: '/dev/sdb', kind: 'missing', parentExists: true })).toBe(
      "/dev/sdb does not exist; plug the drive in and run 'make-iso drives' to see its name",
    );
  });

  it('refuses a regular file inside /dev (left by an earlier mistaken write)', () => {
    expect(codes({ given: '/dev/sdb', path: '/dev/sdb', kind: 'file', fileSize: 100 })).toEqual(['file-in-dev']);
  });

  it('creates a new image file when its directory exists', () => {
    expect(codes({ given: 'out.img', path: '/tmp/out.img', kind: 'missing', parentExists: true })).toEqual([]);
    expect(codes({ given: 'x/out.img', path: '/nope/x/out.img', kind: 'missing', parentExists: false })).toEqual([
      'no-parent',
    ]);
  });

  it('overwrites an existing smaller file, but a larger one only with --force', () => {
    const small: TargetFacts = { given: 'a.img', path: '/tmp/a.img', kind: 'file', fileSize: GiB };
    const big: TargetFacts = { given: 'b.img', path: '/tmp/b.img', kind: 'file', fileSize: 8 * GiB };
    expect(codes(small)).toEqual([]);
    expect(only(big)).toMatch(
      /^b\.img is an existing file larger than the ISO \(8\.0 GiB\); its start would be overwritten/,
    );
    expect(codes(big, { force: true })).toEqual([]);
  });

  it('refuses writing the ISO onto itself', () => {
    expect(
      codes({ given: 'x.iso', path: '/tmp/x.iso', kind: 'file', fileSize: 10, isSource: true }, {}, { size: 10 }),
    ).toEqual(['is-source']);
  });
});

describe('what the confirmation screen shows', () => {
  it('lists model, size, serial and the partitions on the drive now', () => {
    const lines = describeTarget(blockFacts('server-sata', '/dev/sdc'), 'emt.iso', iso.size);
    expect(lines).toEqual([
      'About to write emt.iso (1.2 GiB) to /dev/sdc:',
      '  SanDisk Ultra Fit, 28.9 GiB, usb, serial 4C530001230904112345',
      '  it holds now (gpt partition table):',
      '    /dev/sdc1  iso9660, "MAKEISO1A2B3C4D", 1.1 GiB',
      '    /dev/sdc2  vfat, "ESP", 4.8 MiB',
      'Everything on /dev/sdc will be destroyed.',
    ]);
  });

  it('says when a drive has no partitions', () => {
    expect(describeTarget(blockFacts('util-linux-2.34', '/dev/sdb'), 'a.iso', 1)[2]).toBe(
      '  it holds now: no partitions',
    );
  });

  it('describes image files', () => {
    expect(describeTarget({ given: 'o.img', path: '/tmp/o.img', kind: 'missing' }, 'a.iso', 2048)).toEqual([
      'About to write a.iso (2.0 KiB) to a new image file /tmp/o.img.',
    ]);
  });
});

describe('progress line', () => {
  it('shows bytes, percent, rate and ETA', () => {
    const line = progressLine({ step: 'write', kind: 'progress', done: 512 * 1024 ** 2, total: 1024 ** 3 }, 0, 10_000);
    expect(line).toBe('53.7 MB/s, ETA 0:10');
    expect(progressLine({ step: 'verify', kind: 'progress', done: 2 * 1024 ** 3, total: 4 * 1024 ** 3 }, 0, 2000)).toBe(
      '1074 MB/s, ETA 0:02',
    );
  });
});
