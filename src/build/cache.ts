// Why: a build's slow part is what it derives from the bootkit (the release read, unpacked and
// its initramfs scanned) and hashing big inputs; both are the same for every build from the same
// files. This cache keeps them: bootkit entries keyed by the release's sha256 and make-iso's
// version (content addressed), and file digests remembered by (path, size, mtime, ctime, inode).
// Every write is a temp file or directory renamed into place, so concurrent builds never see half
// an entry (the first rename wins; the loser's copy is dropped). Disable with MAKE_ISO_NO_CACHE=1.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { sha256File, sha256Text } from '../io/hash.js';
import { registerTemp } from '../io/temps.js';
import { version } from '../version.js';

/** Bumped when an entry's format or meaning changes (old entries are then simply not found). */
export const CACHE_FORMAT = 1;

/**
 * A digest of make-iso's own code (every module beside this one): entries made by other code,
 * even of the same version number (a development build), are never found.
 */
let codeId: string | undefined;
export function makeIsoCodeId(): string {
  if (codeId) return codeId;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (/\.(js|ts)$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(join(d, e.name));
    }
  };
  walk(root);
  const h = createHash('sha256').update(version);
  for (const f of files.sort()) h.update(`\0${f.slice(root.length)}\0`).update(readFileSync(f));
  codeId = h.digest('hex').slice(0, 12);
  return codeId;
}

/** `$MAKE_ISO_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/make-iso`, then `build/`; undefined when disabled. */
export function buildCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MAKE_ISO_NO_CACHE && env.MAKE_ISO_NO_CACHE !== '0') return undefined;
  const root = env.MAKE_ISO_CACHE
    ? resolve(env.MAKE_ISO_CACHE)
    : join(resolve(env.XDG_CACHE_HOME || join(homedir(), '.cache')), 'make-iso');
  return join(root, 'build');
}

/** What a file's digest is remembered by: it changes whenever the file's bytes can have. */
export async function fileIdentity(path: string): Promise<string> {
  const s = await stat(path, { bigint: true });
  return [resolve(path), s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(':');
}

const hashEntry = z.strictObject({ identity: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });

/** What a release yields, besides the two files in its entry directory. */
export const bootkitEntrySchema = z.strictObject({
  kernelName: z.string(),
  initramfsName: z.string(),
  kernelVersion: z.string(),
  kernelSha256: z.string(),
  initramfsSha256: z.string(),
});
export type BootkitEntry = z.infer<typeof bootkitEntrySchema>;

const KERNEL_FILE = 'kernel';
const INITRAMFS_FILE = 'initramfs';
const ENTRY_FILE = 'entry.json';

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined; // missing or torn by a crash: a miss, never an error
  }
}

export class BuildCache {
  constructor(readonly dir: string) {}

  private tmpName(): string {
    return `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  /** Writes a file atomically (temp + rename). */
  private async put(path: string, content: string): Promise<void> {
    const tmp = join(this.dir, this.tmpName());
    await mkdir(this.dir, { recursive: true });
    await writeFile(tmp, content, { mode: 0o600 });
    await rename(tmp, path);
  }

  private bootkitDir(releaseSha256: string): string {
    return join(this.dir, 'bootkits', `${releaseSha256}-${version}-${makeIsoCodeId()}-f${CACHE_FORMAT}`);
  }

  /** sha256 of a file, remembered by its identity: hashed only when new or changed. */
  async sha256(path: string, signal?: AbortSignal): Promise<string> {
    const identity = await fileIdentity(path);
    const key = join(this.dir, 'hashes', `${sha256Text(identity).slice(0, 32)}.json`);
    const known = hashEntry.safeParse(await readJson(key));
    if (known.success && known.data.identity === identity) return known.data.sha256;
    const sha256 = await sha256File(path, undefined, signal);
    await this.remember(path, sha256, identity);
    return sha256;
  }

  /** The sha256 remembered for a file, when it has not changed since; never reads the file. */
  async knownSha256(path: string): Promise<string | undefined> {
    const identity = await fileIdentity(path);
    const key = join(this.dir, 'hashes', `${sha256Text(identity).slice(0, 32)}.json`);
    const known = hashEntry.safeParse(await readJson(key));
    return known.success && known.data.identity === identity ? known.data.sha256 : undefined;
  }

  /** Remembers a digest computed elsewhere (e.g. while the file was read for another reason). */
  async remember(path: string, sha256: string, identity?: string): Promise<void> {
    const id = identity ?? (await fileIdentity(path));
    await mkdir(join(this.dir, 'hashes'), { recursive: true });
    await this.put(
      join(this.dir, 'hashes', `${sha256Text(id).slice(0, 32)}.json`),
      JSON.stringify({ identity: id, sha256 }),
    );
  }

  /** The kernel and initramfs a release yielded before, when cached. */
  async bootkit(releaseSha256: string): Promise<(BootkitEntry & { kernel: string; initramfs: string }) | undefined> {
    const dir = this.bootkitDir(releaseSha256);
    const entry = bootkitEntrySchema.safeParse(await readJson(join(dir, ENTRY_FILE)));
    if (!entry.success) return undefined;
    return { ...entry.data, kernel: join(dir, KERNEL_FILE), initramfs: join(dir, INITRAMFS_FILE) };
  }

  /**
   * A fresh directory inside the cache to unpack into (then given to storeBootkit, or removed
   * by the caller); registered as a temp so a signal that ends the process removes it too.
   */
  async stagingDir(): Promise<string> {
    const dir = join(this.dir, 'bootkits', this.tmpName());
    registerTemp(dir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /**
   * Moves an unpacked kernel and initramfs into the release's entry (atomic: one rename of the
   * staging directory). When another build stored it first, its entry is used and ours dropped.
   */
  async storeBootkit(
    releaseSha256: string,
    staging: string,
    files: { kernel: string; initramfs: string },
    entry: BootkitEntry,
  ): Promise<BootkitEntry & { kernel: string; initramfs: string }> {
    const dir = this.bootkitDir(releaseSha256);
    await rename(files.kernel, join(staging, KERNEL_FILE));
    await rename(files.initramfs, join(staging, INITRAMFS_FILE));
    await writeFile(join(staging, ENTRY_FILE), JSON.stringify(entry));
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(staging, dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        if ((await this.bootkit(releaseSha256)) || attempt > 0) {
          await rm(staging, { recursive: true, force: true }); // another build stored it first
          break;
        }
        // a torn entry (a crash while a derived file was written, a half-cleared cache): move it
        // aside atomically, then remove it, and store ours in its place
        const aside = join(this.dir, 'bootkits', this.tmpName());
        await rename(dir, aside).catch(() => undefined);
        await rm(aside, { recursive: true, force: true });
      }
    }
    const stored = await this.bootkit(releaseSha256);
    if (!stored) throw new Error(`the cache entry ${dir} vanished while it was being stored`);
    return stored;
  }

  /** A JSON value derived from a cached release (e.g. its scan), under a name. */
  async derived(releaseSha256: string, name: string): Promise<unknown> {
    return readJson(join(this.bootkitDir(releaseSha256), `${name}.json`));
  }

  async storeDerived(releaseSha256: string, name: string, value: unknown): Promise<void> {
    const dir = this.bootkitDir(releaseSha256);
    await mkdir(dir, { recursive: true });
    await this.put(join(dir, `${name}.json`), JSON.stringify(value));
  }

  /** What the cache holds: bootkit entries and remembered digests, with their sizes. */
  async summary(): Promise<{
    dir: string;
    bootkits: Array<{ name: string; bytes: number }>;
    hashes: number;
    bytes: number;
  }> {
    const bootkits: Array<{ name: string; bytes: number }> = [];
    let bytes = 0;
    const list = async (d: string) => readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of await list(join(this.dir, 'bootkits'))) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      let size = 0;
      for (const f of await list(join(this.dir, 'bootkits', e.name))) {
        size += (await stat(join(this.dir, 'bootkits', e.name, f.name))).size;
      }
      bootkits.push({ name: e.name, bytes: size });
      bytes += size;
    }
    const hashes = (await list(join(this.dir, 'hashes'))).filter((e) => e.name.endsWith('.json')).length;
    return { dir: this.dir, bootkits, hashes, bytes };
  }

  /** Removes everything (a build running now keeps the files it opened). */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The cache of this environment, or undefined when disabled. */
export function openBuildCache(env: NodeJS.ProcessEnv = process.env): BuildCache | undefined {
  const dir = buildCacheDir(env);
  return dir ? new BuildCache(dir) : undefined;
}
