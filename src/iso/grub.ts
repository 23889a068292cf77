// Why: builds the two GRUB loaders (BIOS El Torito core and UEFI BOOTX64.EFI) with an
// embedded early config that finds the ISO by its volume label, so CD, USB and BMC virtual
// media all reach the same /boot/grub/grub.cfg.
import { writeFile } from 'node:fs/promises';
import { run } from '../exec.js';

export const GRUB_DIRS = {
  bios: '/usr/lib/grub/i386-pc',
  efi: '/usr/lib/grub/x86_64-efi',
} as const;

/** The isohybrid MBR that chain-loads the BIOS core image when the ISO is a USB disk. */
export const GRUB_HYBRID_MBR = `${GRUB_DIRS.bios}/boot_hybrid.img`;

const COMMON_MODULES = [
  'iso9660',
  'part_gpt',
  'part_msdos',
  'search',
  'search_label',
  'search_fs_file',
  'normal',
  'configfile',
  'linux',
  'echo',
  'test',
  'serial',
  'terminal',
  'ls',
  'cat',
  'halt',
  'reboot',
  'sleep',
  'gzio',
];

export const GRUB_BIOS_MODULES = [...COMMON_MODULES, 'biosdisk'];
export const GRUB_EFI_MODULES = [...COMMON_MODULES, 'fat', 'efi_gop', 'all_video'];

/** Embedded config: find the medium by label, then hand over to the ISO's grub.cfg. */
export function earlyGrubConfig(volid: string): string {
  return [
    `search --no-floppy --label --set=root ${volid}`,
    'set prefix=($root)/boot/grub',
    'configfile ($root)/boot/grub/grub.cfg',
    '',
  ].join('\n');
}

/** Arguments for grub-mkimage; pure so it can be unit-tested. */
export function grubMkimageArgs(target: 'bios' | 'efi', earlyConfig: string, output: string): string[] {
  return target === 'bios'
    ? ['-O', 'i386-pc-eltorito', '-d', GRUB_DIRS.bios, '-p', '/boot/grub', '-c', earlyConfig, '-o', output, ...GRUB_BIOS_MODULES]
    : ['-O', 'x86_64-efi', '-d', GRUB_DIRS.efi, '-p', '/boot/grub', '-c', earlyConfig, '-o', output, ...GRUB_EFI_MODULES];
}

/** Builds both loaders at the given paths, with an early config that searches for `volid`. */
export async function buildGrubImages(
  out: { grubEarly: string; biosEltorito: string; efiLoader: string },
  volid: string,
): Promise<void> {
  await writeFile(out.grubEarly, earlyGrubConfig(volid));
  await Promise.all([
    run('grub-mkimage', grubMkimageArgs('bios', out.grubEarly, out.biosEltorito)),
    run('grub-mkimage', grubMkimageArgs('efi', out.grubEarly, out.efiLoader)),
  ]);
}
