// Why: lsblk parsing and drive classification decide which drives users are shown; test them on realistic samples.
import { describe, expect, it } from 'vitest';
import { classifyDrives, isSystemMount, parseFindmnt, parseLsblk, selectDrives } from '../../../src/usb/drives.js';
import { formatBytes } from '../../../src/io/size.js';
import { drivesTable } from '../../../src/cli/commands/drives.js';
import { majMinOf, parseBlkid } from '../../../src/usb/target.js';
import { sample } from './lsblk-samples.js';

describe('parseLsblk', () => {
  it('reads the typed JSON of util-linux 2.38', () => {
    const { nodes } = sample('laptop-nvme-usb');
    const sda = nodes.find((n) => n.name === 'sda');
    expect(sda).toMatchObject({
      path: '/dev/sda',
      type: 'disk',
      size: 15518924800,
      vendor: 'Kingston',
      model: 'DataTraveler 3.0',
      transport: 'usb',
      removable: true,
      readOnly: false,
    });
    expect(sda?.children[0]).toMatchObject({
      path: '/dev/sda1',
      mountpoints: ['/media/alice/KINGSTON'],
      fstype: 'vfat',
    });
  });

  it('reads the all-strings JSON and single mountpoint of util-linux 2.34', () => {
    const { nodes } = sample('util-linux-2.34');
    expect(nodes[1]).toMatchObject({ size: 16008609792, removable: true, vendor: 'Samsung', model: 'Flash Drive FIT' });
    expect(nodes[0]?.children[0]?.mountpoints).toEqual(['/']);
    expect(nodes[0]?.mountpoints).toEqual([]);
  });

  it('rejects output that is not lsblk JSON', () => {
    expect(() => parseLsblk('lsblk: unknown column')).toThrow(/not JSON/);
    expect(() => parseLsblk('{}')).toThrow(/blockdevices/);
  });
});

describe('classifyDrives', () => {
  it('marks an NVMe disk holding /, /boot, the ESP and swap under LUKS+LVM as a system drive', () => {
    const nvme = sample('laptop-nvme-usb').drives.find((d) => d.name === 'nvme0n1');
    expect(nvme?.systemReasons).toEqual(['holds /', 'holds /boot', 'holds /boot/efi', 'holds swap']);
    expect(nvme?.isRemovable).toBe(false);
    expect(nvme?.parts.map((p) => p.type)).toEqual(['part', 'part', 'part', 'crypt', 'lvm', 'lvm']);
  });

  it('sees a USB stick with a mounted partition as removable and not a system drive', () => {
    const sda = sample('laptop-nvme-usb').drives.find((d) => d.name === 'sda');
    expect(sda).toMatchObject({ isRemovable: true, systemReasons: [], mountpoints: ['/media/alice/KINGSTON'] });
  });

  it('marks the virtio root disk mounted whole, and zram swap', () => {
    const { drives } = sample('vm-virtio');
    expect(drives.find((d) => d.name === 'vda')?.systemReasons).toEqual(['holds /']);
    expect(drives.find((d) => d.name === 'zram0')?.systemReasons).toEqual(['holds swap']);
  });

  it('finds system mounts that only findmnt reports, by major:minor', () => {
    const json = JSON.stringify({
      filesystems: [
        { source: '/dev/vdb[/@home]', target: '/home', fstype: 'btrfs', 'maj:min': '254:16' },
        { source: 'tmpfs', target: '/run', fstype: 'tmpfs', 'maj:min': '0:25' },
      ],
    });
    const mounts = parseFindmnt(json);
    const { drives } = sample('vm-virtio', mounts);
    expect(drives.find((d) => d.name === 'vdb')?.systemReasons).toEqual(['holds /home']);
  });

  it('works with the old single-mountpoint format', () => {
    const { drives } = sample('util-linux-2.34');
    expect(drives.map((d) => [d.name, d.systemReasons.length > 0, d.isRemovable])).toEqual([
      ['sda', true, false],
      ['sdb', false, true],
    ]);
  });
});

describe('selectDrives', () => {
  it('lists only removable/USB non-system drives by default', () => {
    expect(selectDrives(sample('laptop-nvme-usb').drives, false).map((d) => d.path)).toEqual(['/dev/sda']);
    expect(selectDrives(sample('server-sata').drives, false).map((d) => d.path)).toEqual(['/dev/sdc', '/dev/sdd']);
    expect(selectDrives(sample('vm-virtio').drives, false)).toEqual([]);
  });

  it('lists every real drive with --all, never optical drives, zram or empty devices', () => {
    expect(selectDrives(sample('laptop-nvme-usb').drives, true).map((d) => d.path)).toEqual([
      '/dev/loop0',
      '/dev/sda',
      '/dev/nvme0n1',
    ]);
    expect(selectDrives(sample('vm-virtio').drives, true).map((d) => d.path)).toEqual([
      '/dev/vda',
      '/dev/vdb',
      '/dev/loop3',
    ]);
  });
});

describe('isSystemMount', () => {
  it.each([
    ['/', true],
    ['/boot', true],
    ['/boot/efi', true],
    ['/usr', true],
    ['/var/lib/docker', true],
    ['/home', true],
    ['[SWAP]', true],
    ['/run/live/medium', true],
    ['/cdrom', true],
    ['/media/alice/KINGSTON', false],
    ['/run/media/bob/STICK', false],
    ['/mnt/usb', false],
    ['/home/alice/usb', false],
    ['/tmp/x', false],
  ])('%s -> %s', (target, expected) => {
    expect(isSystemMount(target)).toBe(expected);
  });
});

describe('drives table', () => {
  it('shows path, size, transport, model, serial and mounted partitions', () => {
    const lines = drivesTable(selectDrives(sample('laptop-nvme-usb').drives, false), false);
    expect(lines[0]).toMatch(/^PATH\s+SIZE\s+TRAN\s+REMOVABLE\s+MODEL\s+SERIAL\s+MOUNTED$/);
    expect(lines[1]).toMatch(
      /^\/dev\/sda\s+14\.5 GiB\s+usb\s+yes\s+Kingston DataTraveler 3\.0\s+E0D55EA573F1F4B0A9D20C2F\s+\/dev\/sda1 on \/media\/alice\/KINGSTON$/,
    );
  });

  it('notes why a drive is a system drive with --all', () => {
    const lines = drivesTable(selectDrives(sample('vm-virtio').drives, true), true);
    expect(lines.find((l) => l.startsWith('/dev/vda'))).toMatch(/system: holds \/$/);
    expect(lines.find((l) => l.startsWith('/dev/loop3'))).toMatch(/loop\s+no/);
  });
});

describe('helpers', () => {
  it('formats sizes in binary units like lsblk', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(15518924800)).toBe('14.5 GiB');
    expect(formatBytes(4 * 1024 * 1024)).toBe('4.0 MiB');
    expect(formatBytes(512110190592)).toBe('477 GiB');
  });

  it('decodes Linux dev_t into major:minor', () => {
    expect(majMinOf(0x800n)).toBe('8:0');
    expect(majMinOf(0x10301n)).toBe('259:1');
    expect(majMinOf(0xfe00n)).toBe('254:0');
  });

  it('reads filesystem type and label from blkid -o export', () => {
    expect(parseBlkid('DEVNAME=/dev/sdb1\nLABEL=KINGSTON\nUUID=1234-ABCD\nTYPE=vfat\n')).toEqual({
      fstype: 'vfat',
      label: 'KINGSTON',
    });
    expect(parseBlkid('PTUUID=x\nPTTYPE=gpt\n')).toEqual({ fstype: null, label: null });
    expect(parseBlkid('TYPE=ext4\nPART_ENTRY_NAME=data\n')).toEqual({ fstype: 'ext4', label: 'data' });
  });

  it('classifies an empty tree', () => {
    expect(classifyDrives([])).toEqual([]);
  });
});
