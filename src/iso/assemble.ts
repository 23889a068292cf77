// Why: lays out the ISO tree (kernel, initramfs, GRUB for BIOS and UEFI, OS image, static
// files from iso/) and writes it with xorriso. The caller supplies the rendered grub.cfg
// and manifest; this module owns only the boot layout.
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildEfiBootImage } from './efiboot.js';
import { GRUB_HYBRID_MBR, buildGrubImages } from './grub.js';
import type { IsoFile, IsoPlan } from './plan.js';
import { writeIso } from './xorriso.js';
import type { ProgressSink } from '../progress.js';
import { projectRoot } from '../version.js';

export const ISO_PATHS = {
  kernel: 'boot/vmlinuz',
  initrd: 'boot/initrd.img',
  grubCfg: 'boot/grub/grub.cfg',
  biosBoot: 'boot/grub/i386-pc/eltorito.img',
  efiLoader: 'EFI/BOOT/BOOTX64.EFI',
  images: 'images',
  userApps: 'user-apps',
} as const;

/** Files copied onto every ISO (iso/ also holds the dracut hook, which goes into the initramfs). */
export const staticIsoDir = join(projectRoot, 'iso', 'root');

/** Every regular file below dir, as ISO files under prefix (sorted, for reproducibility). */
export async function treeFiles(dir: string, prefix: string): Promise<IsoFile[]> {
  const out: IsoFile[] = [];
  async function walk(d: string): Promise<void> {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push({ isoPath: [prefix, relative(dir, p)].filter(Boolean).join('/'), hostPath: p });
    }
  }
  await walk(dir);
  return out;
}

/** Where the generated boot files sit in the build's work directory (pure). */
export interface BootFiles {
  grubCfg: string;
  grubEarly: string;
  biosEltorito: string;
  efiLoader: string;
  efiImage: string;
}

export function bootFiles(workDir: string): BootFiles {
  return {
    grubCfg: join(workDir, 'grub.cfg'),
    grubEarly: join(workDir, 'grub-early.cfg'),
    biosEltorito: join(workDir, 'eltorito.img'),
    efiLoader: join(workDir, 'BOOTX64.EFI'),
    efiImage: join(workDir, 'efiboot.img'),
  };
}

export interface IsoLayoutInput {
  output: string;
  volid: string;
  epoch: number;
  kernel: string;
  initramfs: string;
  boot: BootFiles;
  /** Further files: the static tree, the OS image and its checksum, user apps, the manifest. */
  files: IsoFile[];
}

/** The whole ISO as a plan for xorriso (pure: paths only, nothing is read or written). */
export function isoLayout(input: IsoLayoutInput): IsoPlan {
  return {
    output: input.output,
    volid: input.volid,
    epoch: input.epoch,
    grubMbr: GRUB_HYBRID_MBR,
    biosBootImage: ISO_PATHS.biosBoot,
    efiImage: input.boot.efiImage,
    files: [
      { isoPath: ISO_PATHS.kernel, hostPath: input.kernel },
      { isoPath: ISO_PATHS.initrd, hostPath: input.initramfs },
      { isoPath: ISO_PATHS.grubCfg, hostPath: input.boot.grubCfg },
      { isoPath: ISO_PATHS.biosBoot, hostPath: input.boot.biosEltorito },
      { isoPath: ISO_PATHS.efiLoader, hostPath: input.boot.efiLoader },
      ...input.files,
    ],
  };
}

/** Writes grub.cfg and builds the GRUB loaders and the FAT EFI image where `boot` says. */
export async function writeBootFiles(boot: BootFiles, grubCfg: string, volid: string, epoch: number): Promise<void> {
  await writeFile(boot.grubCfg, grubCfg);
  await buildGrubImages(boot, volid);
  await buildEfiBootImage(boot.efiLoader, boot.efiImage, epoch);
}

/** Writes the ISO; returns its sha256 when asked. */
export async function assembleIso(
  plan: IsoPlan,
  progress: ProgressSink,
  signal?: AbortSignal,
  hash = false,
): Promise<string | undefined> {
  let total = (await stat(plan.efiImage)).size;
  for (const f of plan.files) total += (await stat(f.hostPath)).size;
  return writeIso(plan, total, progress, signal, hash);
}
