// Why: before building, tell the user what the bootkit initramfs holds (archive layout, kernel
// command line snippets, provisioning units, installer tools) by streaming it once: nothing
// is written to disk; rootfs.tar.gz is gunzipped, its tar headers read, and only executables,
// libraries and a few small files held in memory one at a time (the requirements check).
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { BootkitContents, checkRequirements, type MissingRequirement } from '../bootkit/requirements.js';
import { UserError } from '../errors.js';
import { ByteReader } from '../io/byte-reader.js';
import type { ProgressSink } from '../progress.js';
import { loadRequirements, type Requirement } from '../requirements.js';
import { DEFAULT_MASKED_UNITS, normalizeUnitName } from '../rootfs/change.js';
import { readTar } from '../rootfs/tar.js';
import { tarPathKey } from '../rootfs/transform.js';
import { type ArchiveInfo, walkInitramfs } from './container.js';
import { S_IFMT, S_IFREG, type CpioEntry } from './cpio.js';
import { type DracutLayout, LayoutRecorder, readText } from './layout.js';

/** The overlay hook's file name (see templates/dracut/99-make-iso.sh). */
export { HOOK_NAME } from './layout.js';
const UNIT_DIRS = ['usr/lib/systemd/system', 'lib/systemd/system', 'etc/systemd/system'];
const MODULES = /^(?:usr\/)?lib\/modules\/([^/]+)(?:\/|$)/;
const WANTS = /^etc\/systemd\/system\/([^/]+\.(?:wants|requires))\/([^/]+)$/;

export interface UnitStatus {
  name: string;
  /** A unit file exists (following symlinks) in one of the unit directories. */
  present: boolean;
  /** Where: e.g. ["usr/lib/systemd/system/caddy.service"]. */
  paths: string[];
  /** Directories holding an enablement link, e.g. ["multi-user.target.wants"]. */
  enabledIn: string[];
  /** etc/systemd/system/<name> already links to /dev/null. */
  masked: boolean;
}

export interface BootkitInitramfsScan {
  path: string;
  size: number;
  archives: ArchiveInfo[];
  rootfs: {
    /** Index of the archive holding rootfs.tar.gz (the last one, when several do). */
    archive: number;
    /** Its name in the cpio archive, e.g. "rootfs.tar.gz". */
    name: string;
    /** Compressed size. */
    size: number;
    /** Tar entries. */
    entries: number;
    /** The tar's names start with "./". */
    dotSlash: boolean;
  };
  /** Where this initramfs's dracut runs hooks, or why make-iso cannot tell (src/initramfs/layout.ts). */
  layout: DracutLayout;
  /**
   * Where the overlay's pre-pivot hook goes and which of its parent directories the vendor
   * archive lacks; absent when the layout is not recognised (the overlay mode is then refused).
   */
  hook?: { path: string; missingDirs: string[] };
  /** etc/cmdline.d/*.conf in the initramfs, in archive order. */
  cmdline: Array<{ path: string; content: string }>;
  /** Best guess: the initramfs's modules directory, else the rootfs's. */
  kernelVersion?: string;
  kernelVersions: { initramfs: string[]; rootfs: string[] };
  units: UnitStatus[];
  /** Rows of requirements.tsv the bootkit does not meet (tools, their libraries, kernel modules). */
  missing: MissingRequirement[];
  /** The rootfs's paths and what the requirements check read, for checking it again with packages added. */
  root?: { index: RootfsIndex; contents: BootkitContents };
}

export interface ScanOptions {
  /** Units to look for; default DEFAULT_MASKED_UNITS. */
  units?: readonly string[];
  /** What the installer needs on the node; default installer-scripts/requirements.tsv. */
  requirements?: readonly Requirement[];
  progress?: ProgressSink;
  signal?: AbortSignal;
}

/** What the rootfs tar holds, as far as the scan cares. */
export class RootfsIndex {
  readonly nodes = new Set<string>();
  readonly links = new Map<string, string>();
  readonly wants: Array<{ dir: string; unit: string }> = [];
  readonly kernels = new Set<string>();
  entries = 0;
  dotSlash = false;

  add(path: string, type: string, linkpath: string): void {
    if (this.entries++ === 0) this.dotSlash = path.startsWith('./');
    const key = tarPathKey(path);
    if (type === 'symlink') this.links.set(key, linkpath);
    else this.nodes.add(key);
    const w = WANTS.exec(key);
    if (w) this.wants.push({ dir: w[1]!, unit: w[2]! });
    const m = MODULES.exec(key);
    if (m) this.kernels.add(m[1]!);
  }

  /** A copy with package files, directories and symlinks laid over it (later wins). */
  withAdded(added: ReadonlyArray<{ path: string; type: 'file' | 'dir' | 'symlink'; target?: string }>): RootfsIndex {
    const copy = new RootfsIndex();
    for (const n of this.nodes) copy.nodes.add(n);
    for (const [k, v] of this.links) copy.links.set(k, v);
    copy.entries = this.entries;
    copy.dotSlash = this.dotSlash;
    for (const a of added) {
      if (a.type === 'symlink') {
        copy.nodes.delete(a.path);
        copy.links.set(a.path, a.target ?? '');
      } else {
        copy.links.delete(a.path);
        copy.nodes.add(a.path);
      }
    }
    return copy;
  }

  /**
   * The path with its directories resolved through the tree's symlinks (usr-merge: "sbin/x" ->
   * "usr/sbin/x"); the last component is kept as is, and nothing needs to exist.
   */
  canonical(path: string): string {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    const last = parts.pop();
    if (last === undefined) return '';
    return [...this.walk(parts, 'stop')!, last].join('/');
  }

  /**
   * The components of `parts` with every symlink followed (absolute targets from the rootfs
   * root). Past 40 links (a loop): null with 'fail', or the rest taken literally with 'stop'.
   */
  private walk(parts: string[], onLoop: 'fail' | 'stop'): string[] | null {
    let todo = parts;
    let done: string[] = [];
    let hops = 0;
    while (todo.length) {
      const p = todo.shift()!;
      if (p === '' || p === '.') continue;
      if (p === '..') {
        done.pop();
        continue;
      }
      const target = this.links.get([...done, p].join('/'));
      if (target !== undefined && ++hops > 40 && onLoop === 'fail') return null;
      if (target !== undefined && hops <= 40) {
        if (target.startsWith('/')) done = [];
        todo = [...target.split('/'), ...todo];
        continue;
      }
      done.push(p);
    }
    return done;
  }

  /** Is there an entry (node or symlink) at exactly this key? */
  has(key: string): boolean {
    return this.nodes.has(key) || this.links.has(key);
  }

  /** Follows symlinks (absolute ones from the rootfs root); the existing node reached, or null. */
  resolve(path: string): string | null {
    const done = this.walk(path.split('/'), 'fail');
    if (!done) return null;
    const key = done.join('/');
    return this.nodes.has(key) ? key : null;
  }
}

async function indexRootfs(entry: CpioEntry, where: string, contents: BootkitContents): Promise<RootfsIndex> {
  const idx = new RootfsIndex();
  contents.startRootfs();
  try {
    await pipeline(entry.data(), createGunzip({ chunkSize: 1 << 18 }), async (src: AsyncIterable<Buffer>) => {
      for await (const r of readTar(new ByteReader(src))) {
        if (r.kind === 'entry') {
          idx.add(r.path, r.type, r.linkpath);
          await contents.addRootfsEntry(r);
        } else if (r.kind === 'end') for await (const _ of r.raw());
      }
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new UserError(`${where} is not a readable tar.gz (${msg}); the bootkit is damaged or not supported.`, {
      cause: err,
    });
  }
  return idx;
}

/** Streams the initramfs once and reports what make-iso needs to know about it. */
export async function scanBootkitInitramfs(path: string, opts: ScanOptions = {}): Promise<BootkitInitramfsScan> {
  const unitNames = (opts.units ?? DEFAULT_MASKED_UNITS).map(normalizeUnitName);
  const contents = new BootkitContents();
  const cmdline: BootkitInitramfsScan['cmdline'] = [];
  const initramfsKernels = new Set<string>();
  // Every path of the initramfs and its type (later archives win, like the kernel).
  const recorder = new LayoutRecorder();
  let rootfs: { archive: number; name: string; size: number; index: RootfsIndex } | undefined;

  const layout = await walkInitramfs(
    path,
    async (archive, e) => {
      const key = tarPathKey(e.name);
      const isFile = (e.mode & S_IFMT) === S_IFREG;
      const m = MODULES.exec(key);
      if (m) initramfsKernels.add(m[1]!);
      if (key !== 'rootfs.tar.gz') await contents.addInitramfsEntry(e, key, isFile);
      await recorder.add(e);
      if (isFile && key === 'rootfs.tar.gz') {
        const where = `rootfs.tar.gz in archive ${archive.index + 1} of ${path}`;
        rootfs = {
          archive: archive.index,
          name: e.name,
          size: e.filesize,
          index: await indexRootfs(e, where, contents),
        };
      } else if (isFile && /^etc\/cmdline\.d\/[^/]+\.conf$/.test(key)) {
        cmdline.push({ path: key, content: await readText(e) });
      }
    },
    {
      step: 'scan-initramfs',
      ...(opts.progress ? { progress: opts.progress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  if (!rootfs) {
    throw new UserError(
      `${path} is not a bootkit initramfs: no rootfs.tar.gz inside. Use the initramfs-<version>.img from an Edge Microvisor Bootkit release.`,
    );
  }
  const idx = rootfs.index;
  const units: UnitStatus[] = unitNames.map((name) => {
    const paths = UNIT_DIRS.map((d) => idx.resolve(`${d}/${name}`)).filter((p): p is string => p !== null);
    return {
      name,
      present: paths.length > 0,
      paths: [...new Set(paths)],
      enabledIn: idx.wants.filter((w) => w.unit === name).map((w) => w.dir),
      masked: idx.links.get(`etc/systemd/system/${name}`) === '/dev/null',
    };
  });
  const dracutLayout = recorder.layout();
  const kernelVersions = { initramfs: [...initramfsKernels].sort(), rootfs: [...idx.kernels].sort() };
  const kernelVersion = kernelVersions.initramfs[0] ?? kernelVersions.rootfs[0];
  return {
    path,
    size: layout.size,
    archives: layout.archives,
    rootfs: {
      archive: rootfs.archive,
      name: rootfs.name,
      size: rootfs.size,
      entries: idx.entries,
      dotSlash: idx.dotSlash,
    },
    layout: dracutLayout,
    ...(dracutLayout.recognised
      ? { hook: { path: dracutLayout.hookPath, missingDirs: dracutLayout.missingDirs } }
      : {}),
    cmdline,
    ...(kernelVersion ? { kernelVersion } : {}),
    kernelVersions,
    units,
    missing: checkRequirements(opts.requirements ?? loadRequirements(), idx, contents),
    root: { index: idx, contents },
  };
}
