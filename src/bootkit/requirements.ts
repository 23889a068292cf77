// Why: a bootkit whose rootfs or kernel lacks what the installer needs must be refused at build
// time, not found out on the node. While the scan streams the initramfs and its rootfs tar once,
// this collects what the check needs (ELF interpreter and libraries of executables and shared
// libraries, kernel modules, modules.builtin), then checks every row of requirements.tsv and
// reports every missing item at once.
import { basename, dirname, posix } from 'node:path';
import { ElfError, parseElf, type ElfInfo } from '../elf.js';
import { UserError } from '../errors.js';
import type { CpioEntry } from '../initramfs/cpio.js';
import { describeRequirement, type Requirement } from '../requirements.js';
import type { TarEntry } from '../rootfs/tar.js';
import { tarPathKey } from '../rootfs/transform.js';

/** Where tools are looked up (the installer's PATH, minus /usr/local). */
export const TOOL_DIRS = ['usr/sbin', 'usr/bin', 'sbin', 'bin'];
/** Default library directories of glibc's loader (multiarch Debian and lib64 RPM layouts). */
export const LIB_DIRS = ['lib64', 'usr/lib64', 'lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib', 'usr/lib'];
const MAX_EXEC_BYTES = 64 << 20;
const MODULE_FILE = /^(?:usr\/)?lib\/modules\/[^/]+\/.+\/([^/]+)\.ko(?:\.(?:xz|gz|zst))?$/;
const MODULES_BUILTIN = /^(?:usr\/)?lib\/modules\/[^/]+\/modules\.builtin$/;
const LD_CONF = /^etc\/ld\.so\.conf(?:\.d\/[^/]+\.conf)?$/;
const LIBRARY_NAME = /(?:^ld-|\.so(?:\.|$))/;

/** Module names compare with - and _ as the same character (like modprobe). */
export const moduleKey = (name: string): string => name.replace(/-/g, '_');

/** What an executable file needs to start: an ELF's loader and libraries, or a script's #! interpreter. */
export type ExecInfo = { kind: 'elf'; elf: ElfInfo } | { kind: 'script'; interpreter: string } | { kind: 'other' };

/** Resolves a rootfs path (following symlinks inside the tree) to an existing node, or null. */
export interface TreeLookup {
  resolve(path: string): string | null;
}

export interface MissingRequirement {
  requirement: Requirement;
  /** Why a present tool cannot run, e.g. "needs libfdisk.so.1, which the rootfs lacks". */
  reason?: string;
}

async function readAll(data: () => AsyncGenerator<Buffer>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of data()) {
    if (n < limit) parts.push(c.subarray(0, limit - n));
    n += c.length;
  }
  return Buffer.concat(parts);
}

/** What the requirements check needs from the initramfs and its rootfs, gathered in one pass. */
export class BootkitContents {
  readonly execs = new Map<string, ExecInfo>();
  readonly hardlinks = new Map<string, string>();
  readonly ldConfDirs: string[] = [];
  private readonly rootfsModules = new Set<string>();
  private readonly initramfsModules = new Set<string>();

  /** Kernel modules (and builtins) of the initramfs and of the rootfs. */
  get modules(): Set<string> {
    return new Set([...this.initramfsModules, ...this.rootfsModules]);
  }

  /** A later rootfs.tar.gz replaces an earlier one (the kernel unpacks the last over it). */
  startRootfs(): void {
    this.execs.clear();
    this.hardlinks.clear();
    this.rootfsModules.clear();
    this.ldConfDirs.length = 0;
  }

  private addModulePath(key: string, into: Set<string>): void {
    const m = MODULE_FILE.exec(key);
    if (m) into.add(moduleKey(m[1]!));
  }

  private addBuiltin(text: string, into: Set<string>): void {
    for (const line of text.split('\n')) {
      const name = basename(line.trim()).replace(/\.ko$/, '');
      if (name) into.add(moduleKey(name));
    }
  }

  /** One entry of the rootfs tar (reads the data of executables, libraries and a few small files). */
  async addRootfsEntry(e: TarEntry): Promise<void> {
    const key = tarPathKey(e.path);
    if (e.type === 'hardlink') {
      this.hardlinks.set(key, tarPathKey(e.linkpath));
      return;
    }
    if (e.type !== 'file') return;
    this.addModulePath(key, this.rootfsModules);
    if (MODULES_BUILTIN.test(key)) {
      return this.addBuiltin((await readAll(e.data, 4 << 20)).toString('utf8'), this.rootfsModules);
    }
    if (LD_CONF.test(key)) {
      for (const line of (await readAll(e.data, 1 << 16)).toString('utf8').split('\n')) {
        const dir = line.replace(/#.*/, '').trim();
        if (dir.startsWith('/')) this.ldConfDirs.push(dir.replace(/^\/+|\/+$/g, ''));
      }
      return;
    }
    const executable = (e.mode & 0o111) !== 0;
    if (e.size > MAX_EXEC_BYTES || !(executable || LIBRARY_NAME.test(basename(key)))) return;
    const buf = await readAll(e.data, MAX_EXEC_BYTES);
    this.execs.set(key, execInfo(buf));
  }

  /**
   * A file a package adds (or replaces): its loader, libraries or interpreter, and ld.so.conf
   * entries. Kernel modules are not counted: they belong to one kernel build.
   */
  addPackageFile(key: string, mode: number, content: Buffer): void {
    this.hardlinks.delete(key);
    if (LD_CONF.test(key)) {
      for (const line of content.toString('utf8').split('\n')) {
        const dir = line.replace(/#.*/, '').trim();
        if (dir.startsWith('/')) this.ldConfDirs.push(dir.replace(/^\/+|\/+$/g, ''));
      }
    }
    if ((mode & 0o111) !== 0 || LIBRARY_NAME.test(basename(key))) this.execs.set(key, execInfo(content));
    else this.execs.delete(key);
  }

  /** One entry of the initramfs (kernel modules and modules.builtin). */
  async addInitramfsEntry(e: CpioEntry, key: string, isFile: boolean): Promise<void> {
    if (!isFile) return;
    this.addModulePath(key, this.initramfsModules);
    if (MODULES_BUILTIN.test(key)) {
      this.addBuiltin((await readAll(e.data, 4 << 20)).toString('utf8'), this.initramfsModules);
    }
  }
}

/** Classifies file content: ELF (loader + libraries), #! script, or something else. */
export function execInfo(buf: Buffer): ExecInfo {
  try {
    const elf = parseElf(buf);
    if (elf) return { kind: 'elf', elf };
  } catch (err) {
    if (!(err instanceof ElfError)) throw err;
    return { kind: 'other' }; // unreadable ELF: the check cannot say more than "present"
  }
  const shebang = /^#!\s*(\S+)/.exec(buf.subarray(0, 256).toString('latin1'));
  return shebang ? { kind: 'script', interpreter: shebang[1]! } : { kind: 'other' };
}

/** The first of `paths` that resolves to an existing node of the tree (stops at the first hit), or null. */
function firstResolved(paths: Iterable<string>, tree: TreeLookup): string | null {
  for (const p of paths) {
    const hit = tree.resolve(p);
    if (hit !== null) return hit;
  }
  return null;
}

/**
 * Where the loader finds `lib` for the ELF at `real`: RUNPATH/RPATH ($ORIGIN expanded), the
 * ld.so.conf directories, then the default ones; null when the tree lacks it.
 */
function findLibrary(lib: string, real: string, elf: ElfInfo, tree: TreeLookup, c: BootkitContents): string | null {
  const origin = dirname(real);
  const dirs = [
    ...elf.runpath.map((d) => d.replace(/\$(?:ORIGIN|\{ORIGIN\})/g, `/${origin}`)),
    ...c.ldConfDirs,
    ...LIB_DIRS,
  ];
  return firstResolved(
    dirs.map((d) => posix.join(d, lib)),
    tree,
  );
}

/** Why the executable at key cannot start in this tree (first problem found), or undefined. */
function cannotRun(key: string, tree: TreeLookup, c: BootkitContents, seen = new Set<string>()): string | undefined {
  const real = c.hardlinks.get(key) ?? key;
  if (seen.has(real)) return undefined;
  seen.add(real);
  const info = c.execs.get(real);
  if (!info || info.kind === 'other') return undefined;
  if (info.kind === 'script') {
    return tree.resolve(info.interpreter) ? undefined : `its interpreter ${info.interpreter} is missing`;
  }
  const { elf } = info;
  if (elf.interp && !tree.resolve(elf.interp)) return `its loader ${elf.interp} is missing`;
  for (const lib of elf.needed) {
    const found = findLibrary(lib, real, elf, tree, c);
    if (!found) return `needs ${lib}, which the rootfs lacks`;
    const why = cannotRun(found, tree, c, seen);
    if (why) return `${lib} ${why}`;
  }
  return undefined;
}

/** A library (or loader, or interpreter) an executable needs and the tree lacks. */
export interface LibraryProblem {
  /** The file that needs it, e.g. "usr/sbin/lvm". */
  who: string;
  /** What is missing: a soname, or a loader or interpreter path. */
  missing: string;
  kind: 'library' | 'loader' | 'interpreter';
}

/**
 * Every missing library, loader and #! interpreter of the given executables and of the
 * libraries they reach (DT_NEEDED, searched in RUNPATH/RPATH with $ORIGIN, ld.so.conf
 * directories, then the default directories), not just the first.
 */
export function libraryProblems(keys: Iterable<string>, tree: TreeLookup, c: BootkitContents): LibraryProblem[] {
  const out: LibraryProblem[] = [];
  const seen = new Set<string>();
  const reported = new Set<string>();
  const report = (p: LibraryProblem): void => {
    const k = `${p.who}\0${p.missing}`;
    if (!reported.has(k)) {
      reported.add(k);
      out.push(p);
    }
  };
  const visit = (key: string): void => {
    const real = c.hardlinks.get(key) ?? key;
    if (seen.has(real)) return;
    seen.add(real);
    const info = c.execs.get(real);
    if (!info || info.kind === 'other') return;
    if (info.kind === 'script') {
      if (!tree.resolve(info.interpreter)) report({ who: real, missing: info.interpreter, kind: 'interpreter' });
      return;
    }
    const { elf } = info;
    if (elf.interp && !tree.resolve(elf.interp)) report({ who: real, missing: elf.interp, kind: 'loader' });
    for (const lib of elf.needed) {
      const found = findLibrary(lib, real, elf, tree, c);
      if (found) visit(found);
      else report({ who: real, missing: lib, kind: 'library' });
    }
  };
  for (const k of keys) {
    const r = tree.resolve(k);
    if (r) visit(r);
  }
  return out;
}

/** Where a required tool is in the tree (its resolved path), or null. */
export function findTool(name: string, tree: TreeLookup): string | null {
  return firstResolved(
    TOOL_DIRS.map((d) => `${d}/${name}`),
    tree,
  );
}

/** Every requirement (except optional ones) the bootkit does not meet. */
export function checkRequirements(
  requirements: readonly Requirement[],
  tree: TreeLookup,
  contents: BootkitContents,
): MissingRequirement[] {
  const missing: MissingRequirement[] = [];
  for (const r of requirements) {
    if (r.when === 'optional') continue;
    if (r.kind !== 'tool') {
      const modules = contents.modules;
      if (!r.modules.some((m) => modules.has(moduleKey(m)))) missing.push({ requirement: r });
      continue;
    }
    const hit = findTool(r.name, tree);
    if (!hit) {
      missing.push({ requirement: r });
      continue;
    }
    const reason = cannotRun(hit, tree, contents);
    if (reason) missing.push({ requirement: r, reason });
  }
  return missing;
}

/** One error naming every missing item with its packages (RPM / Debian). */
export function requirementsError(missing: readonly MissingRequirement[]): UserError {
  const items = missing.map((m) => `${describeRequirement(m.requirement)}${m.reason ? `: ${m.reason}` : ''}`);
  return new UserError(
    `the bootkit lacks what the installer needs on the node (${missing.length}): ${items.join('; ')}; give their packages with --packages (docs/packages.md), or use a bootkit release that includes them (see docs/requirements.md)`,
  );
}
