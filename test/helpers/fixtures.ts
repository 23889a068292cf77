// Why: builds the Debian bootkit/OS-image fixtures once per version of their builder, caches them outside the clone, and hands the e2e tests typed paths.
import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';

export type BuildName = 'full-gzip' | 'full-zstd' | 'bare-gzip';
export const BUILD_NAMES: readonly BuildName[] = ['full-gzip', 'full-zstd', 'bare-gzip'];

export interface BootkitBuild {
  name: BuildName;
  /** `full` has efibootmgr, gawk, lvm2, net-tools, parted; `bare` lacks them. */
  variant: 'full' | 'bare';
  /** Outer compression of the initramfs. */
  compression: 'gzip' | 'zstd';
  /** The release tarball: `vmlinuz-<kver>` and `initramfs-<kver>.img`. */
  tarball: string;
  /** `<sha256>  <tarball name>` */
  sha256sum: string;
  /** The same kernel and initramfs, unpacked, for `-kernel/-initrd` boots. */
  kernel: string;
  initramfs: string;
  tarballBytes: number;
  initramfsBytes: number;
  rootfsTarGzBytes: number;
  rootfsBytes: number;
}

export interface Fixtures {
  dir: string;
  /** Debian suite the fixture was built from (bookworm: dracut 059; trixie: dracut-ng). */
  suite: string;
  /** The dracut-core package version in the initramfs. */
  dracutVersion: string;
  kernelVersion: string;
  /** Kernel args that boot the bootkit (serial console on ttyS0 included). */
  kernelArgs: string;
  builds: Record<BuildName, BootkitBuild>;
  /** GPT raw image (esp, rootfs, edge_persistent), gzip'ed, and its checksum file. */
  osImage: string;
  osImageSha256sum: string;
  osImageBytes: number;
  osImageRawBytes: number;
  /** Enabled in multi-user.target.wants; each prints `<markers.provisioning> <unit> started`. */
  provisioningUnits: string[];
  /** Present in the rootfs but not enabled. */
  disabledUnits: string[];
  markers: { provisioning: string; ready: string; osImage: string };
  buildSeconds: number;
}

/** `MAKEISO-FIXTURE-PROVISIONING: tink-worker.service started` */
export function provisioningMarker(fx: Pick<Fixtures, 'markers'>, unit: string): string {
  return `${fx.markers.provisioning} ${unit} started`;
}

/** Unpacks the gzip'ed OS image to `dest` (a raw GPT disk, e.g. to boot it as an installed disk). */
export async function unpackOsImage(fx: Fixtures, dest: string): Promise<string> {
  await mkdir(dirname(dest), { recursive: true });
  await pipeline(createReadStream(fx.osImage), createGunzip(), createWriteStream(dest));
  return dest;
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURE_SOURCE_DIR = join(REPO, 'test', 'fixtures');
const BUILDER = join(FIXTURE_SOURCE_DIR, 'build-fixtures.sh');
const LOCK_WAIT_MS = 45 * 60_000;
/** Fixture dirs of other builder versions are removed once unused for this long. */
const PRUNE_AFTER_MS = 2 * 60 * 60_000;
const BUILD_TIMEOUT_MS = 40 * 60_000;

/** `$MAKE_ISO_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/make-iso`. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MAKE_ISO_CACHE) return resolve(env.MAKE_ISO_CACHE);
  const xdg = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(resolve(xdg), 'make-iso');
}

async function listFiles(dir: string, skip: readonly string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (skip.includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Subdirectories of test/fixtures with their own builder and cache (not part of the bootkit key). */
export const SEPARATE_FIXTURES: readonly string[] = ['emt-os'];

/** First 16 hex of a sha256 over every file (path and bytes) under `dir`, minus top-level `skip`. */
export async function fixtureKey(
  dir = FIXTURE_SOURCE_DIR,
  skip: readonly string[] = dir === FIXTURE_SOURCE_DIR ? SEPARATE_FIXTURES : [],
): Promise<string> {
  const hash = createHash('sha256');
  const files = (await listFiles(dir, skip)).map((f) => relative(dir, f)).sort();
  for (const rel of files) {
    const data = await readFile(join(dir, rel));
    const mode = (await stat(join(dir, rel))).mode & 0o111 ? 'x' : '-';
    hash.update(`${rel}\0${mode}\0${data.length}\0`);
    hash.update(data);
  }
  return hash.digest('hex').slice(0, 16);
}

/** info.json as the builder writes it: Fixtures without the paths this module adds. */
interface InfoJson extends Omit<Fixtures, 'dir' | 'builds' | 'suite' | 'dracutVersion'> {
  suite?: string;
  dracutVersion?: string;
  builds: Record<string, Omit<BootkitBuild, 'name'> & { variant: string; compression: string }>;
}

/** Reads `info.json` of a built fixture dir and turns its relative names into absolute paths. */
export async function loadFixtures(dir: string, names: readonly BuildName[] = BUILD_NAMES): Promise<Fixtures> {
  const info = JSON.parse(await readFile(join(dir, 'info.json'), 'utf8')) as InfoJson;
  const builds = {} as Record<BuildName, BootkitBuild>;
  for (const name of names) {
    const b = info.builds[name];
    if (!b) throw new Error(`fixture ${dir}/info.json has no build ${name}; delete the directory to rebuild it`);
    builds[name] = {
      ...b,
      name,
      variant: b.variant === 'bare' ? 'bare' : 'full',
      compression: b.compression === 'zstd' ? 'zstd' : 'gzip',
      tarball: join(dir, b.tarball),
      sha256sum: join(dir, b.sha256sum),
      kernel: join(dir, b.kernel),
      initramfs: join(dir, b.initramfs),
    };
  }
  return {
    dir,
    suite: info.suite ?? 'bookworm',
    dracutVersion: info.dracutVersion ?? 'unknown',
    kernelVersion: info.kernelVersion,
    kernelArgs: info.kernelArgs,
    builds,
    osImage: join(dir, info.osImage),
    osImageSha256sum: join(dir, info.osImageSha256sum),
    osImageBytes: info.osImageBytes,
    osImageRawBytes: info.osImageRawBytes,
    provisioningUnits: info.provisioningUnits,
    disabledUnits: info.disabledUnits,
    markers: info.markers,
    buildSeconds: info.buildSeconds,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes `lockPath` (O_EXCL create holding our pid); waits while a live process holds it. */
export async function acquireLock(
  lockPath: string,
  done: () => Promise<boolean>,
): Promise<'acquired' | 'done-elsewhere'> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      const fh = await open(lockPath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return 'acquired';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (await done()) return 'done-elsewhere';
    if (Date.now() > deadline) {
      throw new Error(
        `waited ${LOCK_WAIT_MS / 60_000} min for ${lockPath} (held by pid ${holder}); remove it if stale`,
      );
    }
    if (!told) {
      process.stderr.write(`waiting for another process (pid ${holder}) that is building the fixtures...\n`);
      told = true;
    }
    await sleep(2000);
  }
}

/** Runs the builder as root, forwarding its progress lines; throws with the last lines on failure. */
async function runBuilder(outDir: string, debCache: string, env: Record<string, string> = {}): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('building the Debian fixtures needs root (debootstrap, chroot); run the e2e tests as root');
  }
  const proc = execa('bash', [BUILDER, outDir], {
    env: { FIXTURE_DEB_CACHE: debCache, ...env },
    stdin: 'ignore',
    all: true,
    buffer: false,
    reject: false,
    timeout: BUILD_TIMEOUT_MS,
  });
  const last: string[] = [];
  let pending = '';
  proc.all?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      last.push(line);
      if (last.length > 40) last.shift();
      if (line.startsWith('build-fixtures:')) process.stderr.write(`${line}\n`);
    }
  });
  const r = await proc;
  if (pending) last.push(pending);
  if (r.exitCode !== 0 || r.timedOut) {
    const why = r.timedOut ? `timed out after ${BUILD_TIMEOUT_MS / 60_000} min` : `exit code ${r.exitCode}`;
    throw new Error(`building the fixtures (${BUILDER} ${outDir}) failed: ${why}\n${last.join('\n')}`);
  }
}

/**
 * Removes fixture dirs of other builder versions that nobody used for PRUNE_AFTER_MS (each use
 * touches info.json), so a test run still on an older version (a shared work tree) keeps its files.
 */
async function pruneOld(fixturesDir: string, keep: string, prefix = ''): Promise<void> {
  for (const name of await readdir(fixturesDir)) {
    if (!name.startsWith(prefix)) continue;
    const m = /^([0-9a-f]{16})(\.tmp)?$/.exec(name.slice(prefix.length));
    if (!m || m[1] === keep) continue;
    const path = join(fixturesDir, name);
    const used = await stat(join(path, 'info.json')).catch(() => stat(path));
    if (Date.now() - used.mtimeMs < PRUNE_AFTER_MS) continue;
    await rm(path, { recursive: true, force: true });
  }
}

/** Marks a fixture dir as in use (see pruneOld) and loads it. */
async function useFixtures(dir: string, names: readonly BuildName[] = BUILD_NAMES): Promise<Fixtures> {
  const now = new Date();
  await utimes(join(dir, 'info.json'), now, now).catch(() => undefined);
  return loadFixtures(dir, names);
}

/**
 * The dracut-ng variant: the same builder on Debian trixie (dracut-ng: hooks in
 * /var/lib/dracut/hooks), only the full-gzip bootkit. Its own lock and .deb cache, so it
 * never waits for (or mixes packages with) the bookworm build.
 */
export type DracutNgFixtures = Omit<Fixtures, 'builds'> & { builds: { 'full-gzip': BootkitBuild } };

export async function ensureDracutNgFixtures(): Promise<DracutNgFixtures> {
  const root = cacheRoot();
  const fixturesDir = join(root, 'fixtures');
  const key = await fixtureKey();
  const prefix = 'dracut-ng-';
  const dir = join(fixturesDir, `${prefix}${key}`);
  const names: BuildName[] = ['full-gzip'];
  const ready = () => exists(join(dir, 'info.json'));
  if (!(await ready())) {
    await mkdir(fixturesDir, { recursive: true });
    const lockPath = join(fixturesDir, 'build-dracut-ng.lock');
    if ((await acquireLock(lockPath, ready)) === 'acquired') {
      try {
        if (!(await ready())) {
          process.stderr.write(`building the dracut-ng (Debian trixie) bootkit fixture into ${dir}...\n`);
          await runBuilder(dir, join(root, 'debs-trixie'), {
            FIXTURE_SUITE: 'trixie',
            FIXTURE_BUILDS: names.join(' '),
          });
        }
      } finally {
        await rm(lockPath, { force: true });
      }
      await pruneOld(fixturesDir, key, prefix);
    }
  }
  return (await useFixtures(dir, names)) as DracutNgFixtures;
}

/**
 * The fixtures for the current builder, built on first use (several minutes) and then reused.
 * One lock for the whole cache: two processes never build at once (they share the .deb cache).
 */
export async function ensureFixtures(): Promise<Fixtures> {
  const root = cacheRoot();
  const fixturesDir = join(root, 'fixtures');
  const key = await fixtureKey();
  const dir = join(fixturesDir, key);
  const ready = () => exists(join(dir, 'info.json'));
  if (await ready()) return useFixtures(dir);

  await mkdir(fixturesDir, { recursive: true });
  const lockPath = join(fixturesDir, 'build.lock');
  if ((await acquireLock(lockPath, ready)) === 'done-elsewhere') return useFixtures(dir);
  try {
    if (!(await ready())) {
      process.stderr.write(`building Debian bootkit fixtures (first run, several minutes) into ${dir}...\n`);
      const started = Date.now();
      await runBuilder(dir, join(root, 'debs'));
      process.stderr.write(`fixtures built in ${Math.round((Date.now() - started) / 1000)} s\n`);
    }
  } finally {
    await rm(lockPath, { force: true });
  }
  await pruneOld(fixturesDir, key);
  return useFixtures(dir);
}
