// Why: gathers the facts the pure safety rules need (what the path is, which drive it
// belongs to, where the ISO lives), keeping the I/O out of src/usb/safety.ts.
import { realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { run } from '../exec.js';
import { classifyDrives, findNode, readInventory, type Drive, type Inventory } from './drives.js';
import type { SourceFacts, TargetFacts } from './safety.js';

/** Linux dev_t to "major:minor" (glibc encoding). */
export function majMinOf(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

async function statOrNull(p: string) {
  try {
    return await stat(p, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Size and location of the ISO file. */
export async function inspectSource(isoPath: string): Promise<SourceFacts & { dev: bigint; ino: bigint }> {
  const st = await stat(isoPath, { bigint: true });
  return { size: Number(st.size), majMin: majMinOf(st.dev), dev: st.dev, ino: st.ino };
}

/**
 * Looks at a write target: a block device (found in lsblk by major:minor, whatever name or
 * symlink was given), a regular image file, or something else. Pass an inventory to reuse one.
 */
export async function inspectTarget(
  given: string,
  source?: { dev: bigint; ino: bigint },
  inventory?: Inventory,
): Promise<TargetFacts> {
  const st = await statOrNull(given);
  if (!st) {
    const path = resolve(given);
    const parent = await statOrNull(dirname(path));
    return { given, path, kind: 'missing', parentExists: parent?.isDirectory() ?? false };
  }
  const path = await realpath(given);
  if (st.isDirectory()) return { given, path, kind: 'directory' };
  if (st.isCharacterDevice()) return { given, path, kind: 'char' };
  if (st.isFile()) {
    return {
      given,
      path,
      kind: 'file',
      fileSize: Number(st.size),
      isSource: source ? source.dev === st.dev && source.ino === st.ino : false,
    };
  }
  if (!st.isBlockDevice()) return { given, path, kind: 'other' };
  const inv = inventory ?? (await readInventory());
  const found = findNode(inv.nodes, majMinOf(st.rdev));
  if (!found) return { given, path, kind: 'block' };
  const drive = inv.drives.find((d) => d.majMin === found.top.majMin) ?? classifyDrives([found.top], inv.mounts)[0];
  if (drive) await probeFilesystems(drive);
  return { given, path, kind: 'block', node: found.node, drive };
}

/** Parses `blkid -o export` into its TYPE and LABEL. */
export function parseBlkid(text: string): { fstype: string | null; label: string | null } {
  const get = (key: string): string | null => {
    const line = text.split('\n').find((l) => l.startsWith(`${key}=`));
    return line ? line.slice(key.length + 1) : null;
  };
  return { fstype: get('TYPE'), label: get('LABEL') ?? get('PART_ENTRY_NAME') };
}

/**
 * lsblk takes filesystem types and labels from udev; where udev does not run (containers,
 * rescue shells) they are empty, so the confirmation screen asks blkid directly instead.
 */
async function probeFilesystems(drive: Drive): Promise<void> {
  const probe = async (path: string) => parseBlkid(await run('blkid', ['-p', '-o', 'export', path]).catch(() => ''));
  if (!drive.fstype) {
    const r = await probe(drive.path);
    drive.fstype = r.fstype;
    drive.label ??= r.label;
  }
  for (const part of drive.parts) {
    if (part.fstype || part.type !== 'part') continue;
    const r = await probe(part.path);
    part.fstype = r.fstype;
    part.label ??= r.label;
  }
}
