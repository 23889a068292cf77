// Why: the installer's firmware and free-space parsing decide which boot entries are deleted and where LVM goes.
import { describe, expect, it } from 'vitest';
import { bash } from './run-bash.js';

const EFIBOOTMGR_V18 = [
  'BootCurrent: 0001',
  'Timeout: 0 seconds',
  'BootOrder: 0001,0000,0003,0004',
  'Boot0000* UiApp\tFvVol(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)',
  'Boot0001* UEFI QEMU QEMU USB HARDDRIVE 1-0000:00:02.0-1\tPciRoot(0x0)/Pci(0x2,0x0)/USB(0,0){auto_created_boot_option}',
  'Boot0003* Edge Microvisor Toolkit\tHD(1,GPT,391bca86-a075-6e49-9009-c5a66b0de607,0x800,0x4000)/File(\\EFI\\BOOT\\BOOTX64.EFI)',
  'Boot0004  Edge Microvisor Toolkit\tHD(1,GPT,aaaaaaaa-a075-6e49-9009-c5a66b0de607,0x800,0x4000)',
  'Boot0005* Edge Microvisor Toolkit (old)\tHD(1,GPT,bbbbbbbb-a075-6e49-9009-c5a66b0de607,0x800,0x4000)',
].join('\n');

// efibootmgr 17 prints no device path without -v
const EFIBOOTMGR_V17 = [
  'BootCurrent: 0002',
  'BootOrder: 0002,000A',
  'Boot0002* EFI Shell',
  'Boot000A* Edge Microvisor Toolkit ',
].join('\n');

const efi = (fn: string, input: string, ...args: string[]) =>
  bash(`set -euo pipefail; source lib/bootentry.sh; ${fn} "$@" <<<"$INPUT"`, args, { INPUT: input }).stdout;

describe('efibootmgr parsing', () => {
  it('finds the entries carrying exactly our label (stale entries of earlier installs)', () => {
    expect(efi('efi_entries_with_label', EFIBOOTMGR_V18, 'Edge Microvisor Toolkit')).toBe('0003\n0004\n');
    expect(efi('efi_entries_with_label', EFIBOOTMGR_V17, 'Edge Microvisor Toolkit')).toBe('000A\n');
    expect(efi('efi_entries_with_label', EFIBOOTMGR_V18, 'Nothing')).toBe('');
  });

  it('reads BootOrder and moves an entry to its front', () => {
    expect(efi('efi_boot_order', EFIBOOTMGR_V18)).toBe('0001,0000,0003,0004\n');
    expect(bash('source lib/bootentry.sh; efi_order_first 0003 0001,0000,0003,0004').stdout).toBe(
      '0003,0001,0000,0004\n',
    );
    expect(bash('source lib/bootentry.sh; efi_order_first 0007 ""').stdout).toBe('0007\n');
  });
});

describe('LVM free space', () => {
  const PARTED = [
    'BYT;',
    '/dev/nvme0n1:20480MiB:nvme:512:512:gpt:QEMU NVMe Ctrl:;',
    '1:0.02MiB:1.00MiB:0.98MiB:free;',
    '1:1.00MiB:9.00MiB:8.00MiB:fat16:esp:boot, esp;',
    '2:9.00MiB:25.0MiB:16.0MiB:ext4:rootfs:;',
    '3:25.0MiB:33.0MiB:8.00MiB:ext4:edge_persistent:;',
    '1:33.0MiB:20480MiB:20447MiB:free;',
  ].join('\n');
  const region = (input: string, mib: number) =>
    bash('source lib/configure.sh; lvm_free_region "$1" <<<"$INPUT"', [String(mib)], { INPUT: input });

  it('places the volume at the start of the free space after the image', () => {
    expect(region(PARTED, 10240).stdout).toBe('34 10274\n');
  });

  it('fails when the free space is too small', () => {
    expect(region(PARTED, 30000).status).toBe(1);
    expect(region('BYT;\n', 1024).status).toBe(1);
  });
});
