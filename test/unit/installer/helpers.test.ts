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

describe('edge_persistent growth', () => {
  // a 20 GiB disk: 41943040 sectors; edge_persistent at 25 MiB, 8 MiB in the image
  const TOTAL = '41943040';
  const grow = (reserveMib: string, want: string) =>
    bash('source lib/image.sh; persistent_new_size 51200 16384 "$1" "$2" "$3"', [TOTAL, reserveMib, want]);

  it('grows to the last whole MiB of the disk by default', () => {
    // last usable LBA 41943006; the last whole MiB ends at sector 41940991
    expect(grow('0', '').stdout).toBe(`${41940992 - 51200}\n`);
  });

  it('leaves the LVM size plus 1 MiB free at the end', () => {
    const r = grow('10240', '');
    const end = 51200 + Number(r.stdout) - 1;
    expect((41943006 - end) / 2048).toBeGreaterThanOrEqual(10241);
    expect((end + 1) % 2048).toBe(0);
  });

  it('takes an exact size, refuses one that is smaller than the image or does not fit', () => {
    expect(grow('0', '2').stdout).toBe('4194304\n');
    const small = grow('0', '0');
    expect([small.status, small.stdout]).toEqual([
      1,
      "persistent.sizeGiB 0 GiB is smaller than the image's edge_persistent (8 MiB)\n",
    ]);
    const big = grow('10240', '15');
    expect(big.status).toBe(1);
    expect(big.stdout).toMatch(/^persistent\.sizeGiB 15 GiB does not fit on the disk \(at most \d+ MiB\)$/m);
  });

  it('says keep when the partition already fills the disk', () => {
    expect(bash('source lib/image.sh; persistent_new_size 51200 41889792 41943040 0 ""').stdout).toBe('keep\n');
  });
});
