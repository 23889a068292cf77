// Why: the fast mode. Instead of recompressing the vendor rootfs, make-iso appends one small
// gzip'd cpio: a staging tree plus a dracut pre-pivot hook that lays it onto the new root
// at boot (the kernel unpacks every archive of the chain in order; later files win).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { projectRoot } from '../version.js';
import { type NormalizedChange, parentDirs } from '../rootfs/change.js';
import { buildCpio, type CpioMemEntry } from './cpio.js';
import { OVERLAY_STAGE } from './layout.js';

/** The committed hook script (shellcheck-clean POSIX sh). */
export const OVERLAY_HOOK_SOURCE = join(projectRoot, 'templates', 'dracut', '99-make-iso.sh');
/** The staging directory in the initramfs root. */
export { OVERLAY_STAGE };

/** Where the hook goes and which parent directories need entries (from the layout scan). */
export interface HookPlacement {
  path: string;
  missingDirs: string[];
}

/**
 * The overlay cpio's entries, sorted by name (parents first). Of the hook's parents only the
 * ones the vendor archive lacks (placement.missingDirs, from src/initramfs/layout.ts) are
 * emitted: the kernel replaces a path whose type differs from the new entry, so a directory
 * entry over the vendor's symlink would cut its dracut off from its own hooks.
 */
export function overlayEntries(change: NormalizedChange, hook: Buffer, placement: HookPlacement): CpioMemEntry[] {
  const entries = new Map<string, CpioMemEntry>();
  const dir = (name: string, mode = 0o755): void => {
    if (!entries.has(name)) entries.set(name, { name, type: 'dir', mode });
  };
  const hookPath = placement.path;
  for (const d of placement.missingDirs) dir(d);
  entries.set(hookPath, { name: hookPath, type: 'file', mode: 0o755, content: hook });
  dir(OVERLAY_STAGE, 0o700);
  dir(`${OVERLAY_STAGE}/root`);
  // Explicit directories first so their modes win over implied parents.
  for (const f of change.files) {
    if (f.type === 'dir')
      entries.set(`${OVERLAY_STAGE}/root/${f.path}`, {
        name: `${OVERLAY_STAGE}/root/${f.path}`,
        type: 'dir',
        mode: f.mode,
      });
  }
  for (const f of change.files) {
    const name = `${OVERLAY_STAGE}/root/${f.path}`;
    for (const d of parentDirs(f.path)) dir(`${OVERLAY_STAGE}/root/${d}`);
    if (f.type === 'file') entries.set(name, { name, type: 'file', mode: f.mode, content: f.content });
    else if (f.type === 'symlink') entries.set(name, { name, type: 'symlink', target: f.linkpath });
  }
  if (change.mask.length > 0) {
    const name = `${OVERLAY_STAGE}/mask`;
    entries.set(name, { name, type: 'file', mode: 0o644, content: Buffer.from(`${change.mask.join('\n')}\n`) });
  }
  return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The overlay archive: newc cpio, gzip -9 without name or time, so it is reproducible. */
export async function buildOverlayArchive(
  change: NormalizedChange,
  mtime: number,
  placement: HookPlacement,
): Promise<Buffer> {
  const hook = await readFile(OVERLAY_HOOK_SOURCE);
  const cpio = buildCpio(overlayEntries(change, hook, placement), mtime);
  return zlib.gzipSync(cpio, { level: 9 });
}
