// Why: the xorriso command line as a pure function of a plan, so the exact boot layout
// (BIOS El Torito + GRUB hybrid MBR, UEFI El Torito + GPT ESP) is unit-tested without I/O.

export interface IsoFile {
  /** Path inside the ISO, without a leading slash. */
  isoPath: string;
  hostPath: string;
}

export interface IsoPlan {
  output: string;
  /** ISO 9660 volume id: up to 32 of [A-Z0-9_]. */
  volid: string;
  /** Seconds since the epoch for every timestamp in the image. */
  epoch: number;
  /** Host path of GRUB's hybrid MBR (boot_hybrid.img). */
  grubMbr: string;
  /** ISO path of the BIOS El Torito boot image (also listed in files). */
  biosBootImage: string;
  /** Host path of the FAT EFI boot image, appended as GPT partition 2 (the ESP). */
  efiImage: string;
  files: IsoFile[];
}

const VOLID_RE = /^[A-Z0-9_]{1,32}$/;

/** 16-digit GMT timestamp YYYYMMDDhhmmsscc for --modification-date. */
export function isoTimestamp(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}00`;
}

/** graft-points syntax: '\\' and '=' are escaped with a backslash on both sides. */
function graftEscape(path: string): string {
  return path.replace(/\\/g, '\\\\').replace(/=/g, '\\=');
}

export function xorrisoArgs(plan: IsoPlan): string[] {
  if (!VOLID_RE.test(plan.volid)) throw new Error(`invalid ISO volume id ${JSON.stringify(plan.volid)}`);
  if (!plan.files.some((f) => f.isoPath === plan.biosBootImage)) {
    throw new Error(`BIOS boot image ${plan.biosBootImage} is not among the ISO files`);
  }
  const isoPaths = new Set<string>();
  for (const f of plan.files) {
    if (f.isoPath.startsWith('/') || f.isoPath.split('/').includes('..') || f.isoPath === '') {
      throw new Error(`invalid ISO path ${JSON.stringify(f.isoPath)}`);
    }
    if (isoPaths.has(f.isoPath)) throw new Error(`ISO path ${f.isoPath} given twice`);
    isoPaths.add(f.isoPath);
  }
  const stamp = isoTimestamp(plan.epoch);
  const grafts = [...plan.files]
    .sort((a, b) => (a.isoPath < b.isoPath ? -1 : a.isoPath > b.isoPath ? 1 : 0))
    .map((f) => `/${graftEscape(f.isoPath)}=${graftEscape(f.hostPath)}`);
  return [
    '-as',
    'mkisofs',
    '-o',
    plan.output,
    '-V',
    plan.volid,
    '-volset',
    plan.volid,
    '-A',
    'make-iso installer',
    '-iso-level',
    '3',
    '-rational-rock',
    // every file is a host path make-iso chose: an input given as a symlink (an OS image linked
    // from a download directory) must land as its content, not as a link to the build machine
    '-follow-links',
    '-joliet',
    '-joliet-long',
    `--modification-date=${stamp}`,
    '--set_all_file_dates',
    stamp,
    // BIOS: GRUB's hybrid MBR (USB) + El Torito no-emulation image (CD)
    '--grub2-mbr',
    plan.grubMbr,
    '-partition_offset',
    '16',
    '--mbr-force-bootable',
    // UEFI: the FAT image becomes GPT partition 2 (ESP for USB) and the El Torito EFI image (CD)
    '-append_partition',
    '2',
    'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
    plan.efiImage,
    '-appended_part_as_gpt',
    '-iso_mbr_part_type',
    'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
    '-c',
    'boot/boot.cat',
    '-b',
    plan.biosBootImage,
    '-no-emul-boot',
    '-boot-load-size',
    '4',
    '-boot-info-table',
    '--grub2-boot-info',
    '-eltorito-alt-boot',
    '-e',
    '--interval:appended_partition_2:all::',
    '-no-emul-boot',
    '-graft-points',
    ...grafts,
  ];
}
