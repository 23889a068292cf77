// Why: one description of what make-iso changes in the bootkit root filesystem, shared by
// the overlay mode (a dracut hook applies it at boot) and the rewrite mode (tar transform).
import { UserError } from '../errors.js';

export type RootfsFile =
  | { path: string; mode: number; content: Buffer }
  | { path: string; symlink: string }
  | { path: string; dir: true; mode: number };

export interface RootfsChange {
  /** Files, symlinks and directories to add (or replace), paths relative to the root. */
  files: RootfsFile[];
  /** Unit names to disable (remove *.wants / *.requires links) and mask (link to /dev/null). */
  mask: string[];
}

/** Units that, on a bootkit, start the online provisioning flow; masked by default. */
export const DEFAULT_MASKED_UNITS: readonly string[] = [
  'tink-worker.service',
  'caddy.service',
  'caddy-api.service',
  'fluent-bit.service',
  'device-discovery.service',
  'device-discovery-agent.service',
];

const UNIT_SUFFIX = /\.(service|socket|timer|path|target|mount|automount|swap|slice|scope|device)$/;

/** "tink-worker" -> "tink-worker.service"; rejects names that could escape a directory. */
export function normalizeUnitName(name: string): string {
  const n = UNIT_SUFFIX.test(name) ? name : `${name}.service`;
  if (!/^[A-Za-z0-9@._:\\-]+$/.test(n) || n.startsWith('.')) {
    throw new UserError(`"${name}" is not a valid systemd unit name; use names like "tink-worker" or "caddy.service".`);
  }
  return n;
}

/** "/etc/x/", "./etc/x" -> "etc/x"; rejects "..", empty and NUL. */
export function normalizeRootPath(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.length === 0 || parts.includes('..') || p.includes('\0')) {
    throw new UserError(`"${p}" is not a valid path inside the root filesystem; give an absolute path like /etc/foo.`);
  }
  return parts.join('/');
}

export interface NormalizedChange {
  files: Array<
    | { path: string; type: 'file'; mode: number; content: Buffer }
    | { path: string; type: 'symlink'; linkpath: string }
    | { path: string; type: 'dir'; mode: number }
  >;
  mask: string[];
}

/** Normalizes paths and unit names, sorts everything, and rejects duplicates. */
export function normalizeChange(change: RootfsChange): NormalizedChange {
  const mask = [...new Set(change.mask.map(normalizeUnitName))].sort();
  const seen = new Set<string>();
  const files = change.files.map((f) => {
    const path = normalizeRootPath(f.path);
    if (seen.has(path)) throw new UserError(`"${path}" is added twice to the root filesystem; keep one.`);
    seen.add(path);
    if ('symlink' in f) return { path, type: 'symlink' as const, linkpath: f.symlink };
    if ('dir' in f) return { path, type: 'dir' as const, mode: f.mode & 0o7777 };
    return { path, type: 'file' as const, mode: f.mode & 0o7777, content: f.content };
  });
  for (const u of mask) {
    if (seen.has(`etc/systemd/system/${u}`)) {
      throw new UserError(`etc/systemd/system/${u} is both added and masked; remove it from one of the lists.`);
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, mask };
}

/** Every directory above a path, outermost first: "a/b/c" -> ["a", "a/b"]. */
export function parentDirs(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
