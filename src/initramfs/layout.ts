// Why: the overlay archive is unpacked by the kernel over the vendor's archives, and the kernel
// replaces an existing path whose type differs from the new entry (a directory entry over the
// dracut-ng compat symlink usr/lib/dracut/hooks turns it into an empty directory and the vendor's
// own hooks are lost). So: learn from the vendor archive where its dracut runs hooks, put the
// make-iso hook there, and emit entries only for paths the vendor archive does not have.
import { UserError } from '../errors.js';
import { parentDirs } from '../rootfs/change.js';
import { type WalkOptions, walkInitramfs } from './container.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, type CpioEntry } from './cpio.js';

export type InitramfsNodeType = 'dir' | 'symlink' | 'file' | 'other';

export interface InitramfsNode {
  type: InitramfsNodeType;
  /** Symlink target as stored in the archive. */
  target?: string;
}

/** Paths (no leading "./" or "/") of the vendor initramfs and their types; later archives win. */
export type InitramfsTree = ReadonlyMap<string, InitramfsNode>;

/** The dracut flavours make-iso knows how to hook into. */
export type DracutLayoutKind = 'dracut-classic' | 'dracut-ng';

export interface RecognisedLayout {
  recognised: true;
  kind: DracutLayoutKind;
  /** The hooks directory dracut reads, resolved through the archive's symlinks. */
  hooksDir: string;
  /** Where the make-iso pre-pivot hook goes (a real path: no symlink on the way). */
  hookPath: string;
  /** Parent directories of hookPath the vendor archive lacks (the only dirs to emit). */
  missingDirs: string[];
  /** One line for humans, e.g. "dracut-ng: hooks in var/lib/dracut/hooks (usr/lib/dracut/hooks links there)". */
  description: string;
}

export interface UnrecognisedLayout {
  recognised: false;
  /** Why make-iso cannot place its hook safely. */
  reason: string;
}

export type DracutLayout = RecognisedLayout | UnrecognisedLayout;

export const HOOK_NAME = '99-make-iso.sh';
/** The staging directory the overlay archive adds at the initramfs root. */
export const OVERLAY_STAGE = 'make-iso-overlay';
const NG_HOOKS = 'var/lib/dracut/hooks';
const CLASSIC_HOOKS = 'lib/dracut/hooks';
/** Where dracut-lib.sh (which defines hookdir) lives in an initramfs. */
export const DRACUT_LIB_PATHS = ['usr/lib/dracut-lib.sh', 'lib/dracut-lib.sh'];

/** "./usr/lib/" -> "usr/lib" */
export function treeKey(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

/**
 * Follows the archive's symlinks along `path` (absolute targets from the initramfs root,
 * relative ones from the link's directory). Returns the real path and what is there, or
 * `missing` from the first component the archive lacks (the rest appended unresolved).
 */
export function resolveInTree(tree: InitramfsTree, path: string): { path: string; node?: InitramfsNode; loop?: true } {
  let todo = treeKey(path).split('/').filter(Boolean);
  let done: string[] = [];
  let hops = 0;
  while (todo.length) {
    const p = todo.shift()!;
    if (p === '.') continue;
    if (p === '..') {
      done.pop();
      continue;
    }
    const cand = [...done, p].join('/');
    const node = tree.get(cand);
    if (!node) return { path: [cand, ...todo].join('/') };
    if (node.type === 'symlink' && node.target !== undefined) {
      if (++hops > 40) return { path: cand, loop: true };
      if (node.target.startsWith('/')) done = [];
      todo = [...node.target.split('/').filter((s) => s !== ''), ...todo];
      continue;
    }
    done.push(p);
    if (todo.length && node.type !== 'dir') return { path: [...done, ...todo].join('/'), node };
  }
  const key = done.join('/');
  const node = tree.get(key);
  return node ? { path: key, node } : { path: key };
}

/** The hooks directory the initramfs's dracut-lib.sh sets (`hookdir=/lib/dracut/hooks`), if it does. */
export function declaredHooksDir(dracutLib: string | undefined): string | undefined {
  const m = dracutLib && /(?:^|[\s;&|])hookdir=["']?(\/[^\s;"'$]+)/m.exec(dracutLib);
  return m ? treeKey(m[1]!) : undefined;
}

/**
 * Decides where the overlay hook goes: the hooks directory dracut-lib.sh sets (`hookdir=`),
 * else var/lib/dracut/hooks (dracut-ng) or lib/dracut/hooks (classic), whichever is a
 * directory; resolved through the archive's symlinks (Debian trixie's dracut 106 sets
 * /lib/dracut/hooks, which is usr/lib/dracut/hooks, a link to ../../../var/lib/dracut/hooks).
 * Every existing path on the way to the hook must be a directory.
 */
export function detectDracutLayout(tree: InitramfsTree, dracutLib?: string): DracutLayout {
  if (tree.has(OVERLAY_STAGE)) {
    return { recognised: false, reason: `the initramfs already has /${OVERLAY_STAGE}, which make-iso adds` };
  }
  const declared = declaredHooksDir(dracutLib);
  let wanted: string;
  if (declared) wanted = declared;
  else if (resolveInTree(tree, NG_HOOKS).node?.type === 'dir') wanted = NG_HOOKS;
  else if (resolveInTree(tree, CLASSIC_HOOKS).node?.type === 'dir') wanted = CLASSIC_HOOKS;
  else {
    return {
      recognised: false,
      reason: `no dracut hooks directory (neither /${NG_HOOKS} nor /${CLASSIC_HOOKS}) in the initramfs`,
    };
  }
  const hooks = resolveInTree(tree, wanted);
  if (hooks.loop) return { recognised: false, reason: `/${wanted} is a symlink loop in the initramfs` };
  if (hooks.node?.type !== 'dir') {
    const what = hooks.node ? `a ${hooks.node.type}` : 'missing';
    return {
      recognised: false,
      reason: `its dracut reads hooks from /${wanted}, which is ${what} in the initramfs${hooks.path !== wanted ? ` (at /${hooks.path})` : ''}`,
    };
  }
  const kind: DracutLayoutKind = hooks.path === NG_HOOKS ? 'dracut-ng' : 'dracut-classic';
  const hooksDir = hooks.path;
  const stage = resolveInTree(tree, `${hooksDir}/pre-pivot`);
  if (stage.loop || (stage.node && stage.node.type !== 'dir')) {
    return { recognised: false, reason: `/${hooksDir}/pre-pivot is not a directory in the initramfs` };
  }
  const hookPath = `${stage.path}/${HOOK_NAME}`;
  const existing = tree.get(hookPath);
  if (existing) {
    return { recognised: false, reason: `the initramfs already has /${hookPath} (a ${existing.type})` };
  }
  // stage.path is a real path: each parent the tree has is a directory (resolveInTree went through it).
  const missingDirs = parentDirs(hookPath).filter((d) => !tree.has(d));
  const links = [CLASSIC_HOOKS, `usr/${CLASSIC_HOOKS}`, NG_HOOKS].filter(
    (p) => tree.get(p)?.type === 'symlink' && resolveInTree(tree, p).path === hooksDir,
  );
  const description = `${kind}: hooks in /${hooksDir}${links.length ? ` (${links.map((l) => `/${l}`).join(', ')} link${links.length === 1 ? 's' : ''} there)` : ''}`;
  return { recognised: true, kind, hooksDir, hookPath, missingDirs, description };
}

/** Entries of `entries` whose path the vendor tree already has (the overlay must emit none). */
export function clashes(tree: InitramfsTree, entries: ReadonlyArray<{ name: string; type: string }>): string[] {
  return entries
    .filter((e) => tree.has(treeKey(e.name)))
    .map((e) => `${e.name} (${e.type} over ${tree.get(treeKey(e.name))!.type})`);
}

/** Collects, from the cpio entries of every archive in order, what detectDracutLayout needs. */
export class LayoutRecorder {
  readonly tree = new Map<string, InitramfsNode>();
  private readonly libs = new Map<string, string>();

  /** Call for every entry, in archive order (later entries replace earlier ones, like the kernel). */
  async add(e: CpioEntry): Promise<void> {
    const key = treeKey(e.name);
    if (key === '') return;
    const t = e.mode & S_IFMT;
    if (t === S_IFLNK) {
      this.tree.set(key, { type: 'symlink', target: await readText(e, 4096) });
    } else if (t === S_IFDIR) {
      this.tree.set(key, { type: 'dir' });
    } else if (t === S_IFREG) {
      this.tree.set(key, { type: 'file' });
      if (DRACUT_LIB_PATHS.includes(key)) this.libs.set(key, await readText(e, 1 << 20));
    } else {
      this.tree.set(key, { type: 'other' });
    }
  }

  /** dracut-lib.sh as the initramfs resolves /lib/dracut-lib.sh. */
  dracutLib(): string | undefined {
    const real = resolveInTree(this.tree, 'lib/dracut-lib.sh').path;
    return this.libs.get(real) ?? [...this.libs.values()][0];
  }

  layout(): DracutLayout {
    return detectDracutLayout(this.tree, this.dracutLib());
  }
}

/** The first `limit` bytes of a cpio entry as text (the rest is read and dropped). */
export async function readText(entry: CpioEntry, limit = 64 << 10): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of entry.data()) {
    if (n < limit) parts.push(c.subarray(0, limit - n));
    n += c.length;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Reads only the dracut layout of an initramfs (no rootfs indexing). */
export async function readDracutLayout(path: string, opts: WalkOptions = {}): Promise<DracutLayout> {
  const rec = new LayoutRecorder();
  await walkInitramfs(path, (_archive, e) => rec.add(e), opts);
  return rec.layout();
}

export type InitramfsModeRequest = 'auto' | 'overlay' | 'rewrite';

/**
 * The initramfs mode to build with. overlay needs a recognised dracut layout and a last archive
 * that can be appended to (lz4 has no end marker); auto falls back to rewrite, which needs
 * neither; an explicit overlay that cannot work is refused with the reason.
 */
export function chooseInitramfsMode(
  requested: InitramfsModeRequest | undefined,
  initramfs: { layout: DracutLayout; lastCompression?: string } | undefined,
): { mode: 'overlay' | 'rewrite'; reason?: string } {
  if (requested === 'rewrite') return { mode: 'rewrite' };
  let why: string | undefined;
  if (initramfs && !initramfs.layout.recognised) why = initramfs.layout.reason;
  else if (initramfs?.lastCompression === 'lz4')
    why = 'its last archive is lz4, which has no end marker to append after';
  if (!why) {
    const layout = initramfs?.layout;
    return {
      mode: 'overlay',
      ...(requested !== 'overlay' && layout?.recognised ? { reason: layout.description } : {}),
    };
  }
  if (requested === 'overlay') {
    throw new UserError(`mode: overlay cannot be used with this bootkit: ${why}; set mode: rewrite (or auto).`);
  }
  return { mode: 'rewrite', reason: `overlay not possible (${why})` };
}
