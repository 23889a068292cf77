// Why: the UEFI boot image (a small FAT filesystem with EFI/BOOT/BOOTX64.EFI), used both as
// the El Torito EFI image (CD) and as the GPT ESP partition (USB). Built with dosfstools and
// mtools so no root and no loop mount are needed; SOURCE_DATE_EPOCH keeps it reproducible.
import { rm, stat, utimes } from 'node:fs/promises';
import { run } from '../exec.js';

/** FAT image size in KiB for a loader of the given size: room for FAT overhead, 1 MiB steps. */
export function efiImageSizeKiB(loaderBytes: number): number {
  const needed = Math.ceil((loaderBytes * 1.1) / 1024) + 512;
  return Math.max(2048, Math.ceil(needed / 1024) * 1024);
}

export async function buildEfiBootImage(loader: string, output: string, epoch: number): Promise<void> {
  const env = { SOURCE_DATE_EPOCH: String(epoch) };
  const { size } = await stat(loader);
  await utimes(loader, epoch, epoch);
  await rm(output, { force: true });
  await run('mkfs.fat', ['-C', output, String(efiImageSizeKiB(size)), '-n', 'EFIBOOT', '--invariant'], { env });
  await run('mmd', ['-i', output, '::/EFI', '::/EFI/BOOT'], { env });
  await run('mcopy', ['-m', '-i', output, loader, '::/EFI/BOOT/BOOTX64.EFI'], { env });
}
