// Why: one table of every host tool make-iso uses, which Debian package provides it, and
// why; `make-iso doctor`, MissingToolError and the README all read from here.
import { access } from 'node:fs/promises';

export type ToolUse = 'build' | 'usb' | 'test';

export interface HostTool {
  /** Executable name on PATH, or an absolute file path for data files. */
  name: string;
  debianPackage: string;
  why: string;
  use: ToolUse;
}

export const HOST_TOOLS: readonly HostTool[] = [
  { name: 'xorriso', debianPackage: 'xorriso', why: 'writes the hybrid ISO 9660 image', use: 'build' },
  { name: 'mformat', debianPackage: 'mtools', why: 'creates the FAT EFI boot image without root', use: 'build' },
  { name: 'mcopy', debianPackage: 'mtools', why: 'copies GRUB into the FAT EFI boot image', use: 'build' },
  { name: 'grub-mkimage', debianPackage: 'grub-common', why: 'builds the BIOS and UEFI GRUB loaders', use: 'build' },
  {
    name: '/usr/lib/grub/i386-pc/boot_hybrid.img',
    debianPackage: 'grub-pc-bin',
    why: 'GRUB BIOS modules and the isohybrid MBR',
    use: 'build',
  },
  {
    name: '/usr/lib/grub/x86_64-efi/kernel.img',
    debianPackage: 'grub-efi-amd64-bin',
    why: 'GRUB UEFI modules',
    use: 'build',
  },
  { name: 'gzip', debianPackage: 'gzip', why: 'gzip streams (initramfs, rootfs.tar.gz)', use: 'build' },
  { name: 'zstd', debianPackage: 'zstd', why: 'zstd-compressed initramfs archives', use: 'build' },
  { name: 'xz', debianPackage: 'xz-utils', why: 'xz-compressed initramfs archives', use: 'build' },
  { name: 'lsblk', debianPackage: 'util-linux', why: 'lists drives for `make-iso drives` and `write`', use: 'usb' },
  {
    name: 'findmnt',
    debianPackage: 'util-linux',
    why: 'finds system mounts so system drives are never written',
    use: 'usb',
  },
  { name: 'blkid', debianPackage: 'util-linux', why: 'shows what is on a drive before it is overwritten', use: 'usb' },
  { name: 'blockdev', debianPackage: 'util-linux', why: 'flushes and re-reads a written drive', use: 'usb' },
  { name: 'umount', debianPackage: 'mount', why: '`write --unmount`', use: 'usb' },
  { name: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86', why: 'boots ISOs in the test suite', use: 'test' },
  { name: '/usr/share/OVMF/OVMF_CODE_4M.fd', debianPackage: 'ovmf', why: 'UEFI firmware for QEMU tests', use: 'test' },
  { name: 'cpio', debianPackage: 'cpio', why: 'reference cpio for round-trip tests and fixtures', use: 'test' },
  { name: 'debootstrap', debianPackage: 'debootstrap', why: 'builds the Debian bootkit fixture', use: 'test' },
  { name: 'mkfs.ext4', debianPackage: 'e2fsprogs', why: 'builds the OS image fixture', use: 'test' },
  { name: 'debugfs', debianPackage: 'e2fsprogs', why: 'reads installed ext4 filesystems in tests', use: 'test' },
  {
    name: 'sfdisk',
    debianPackage: 'fdisk',
    why: '`write --data-partition`; partitions the OS image fixture',
    use: 'usb',
  },
  {
    name: 'mkfs.vfat',
    debianPackage: 'dosfstools',
    why: 'the FAT EFI boot image; `write --data-partition`',
    use: 'build',
  },
  { name: 'shellcheck', debianPackage: 'shellcheck', why: 'lints installer-scripts/', use: 'test' },
  {
    name: 'modprobe',
    debianPackage: 'kmod',
    why: "the installer's step-1 preflight when the unit tests run it",
    use: 'test',
  },
];

/** The Debian package that provides a tool, for error messages. */
export function packageForTool(name: string): string {
  return HOST_TOOLS.find((t) => t.name === name || t.name.endsWith(`/${name}`))?.debianPackage ?? name;
}

export interface ToolStatus extends HostTool {
  present: boolean;
}

async function isPresent(tool: HostTool): Promise<boolean> {
  if (tool.name.startsWith('/')) {
    return access(tool.name).then(
      () => true,
      () => false,
    );
  }
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      await access(`${dir}/${tool.name}`);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

export async function checkHostTools(uses: readonly ToolUse[] = ['build', 'usb', 'test']): Promise<ToolStatus[]> {
  const wanted = HOST_TOOLS.filter((t) => uses.includes(t.use));
  return Promise.all(wanted.map(async (t) => ({ ...t, present: await isPresent(t) })));
}
