// Why: builds the EMT-shaped OS image fixture (test/fixtures/emt-os) once per version of its builder, caches it in ~/.cache/make-iso/emt-os/<key>, and hands the e2e tests typed paths.
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { acquireLock, cacheRoot, FIXTURE_SOURCE_DIR, fixtureKey } from './fixtures.js';

export const EMT_OS_SOURCE_DIR = join(FIXTURE_SOURCE_DIR, 'emt-os');
const BUILDER = join(EMT_OS_SOURCE_DIR, 'build-emt-os.sh');
const BUILD_TIMEOUT_MS = 40 * 60_000;

export interface EmtOs {
  dir: string;
  kernelVersion: string;
  /** Kernel args the image's GRUB passes (root=PARTLABEL=rootfs ro init=...). */
  kernelArgs: string;
  /** `emt-os.raw.gz`: GPT esp, rootfs, edge_persistent. */
  osImage: string;
  /** `<sha256>  emt-os.raw.gz` */
  osImageSha256sum: string;
  osImageBytes: number;
  osImageRawBytes: number;
  /** Paths bind-mounted from /opt/.mount/persistence. */
  persistentPaths: string[];
  /** `ready`: printed on the console after multi-user.target; `init`: after the overlays/binds. */
  markers: { ready: string; init: string };
  buildSeconds: number;
}

export async function loadEmtOs(dir: string): Promise<EmtOs> {
  const info = JSON.parse(await readFile(join(dir, 'info.json'), 'utf8')) as Omit<EmtOs, 'dir'>;
  return {
    ...info,
    dir,
    osImage: join(dir, info.osImage),
    osImageSha256sum: join(dir, info.osImageSha256sum),
  };
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The EMT OS image for the current builder, built on first use (several minutes), then reused. */
export async function ensureEmtOs(): Promise<EmtOs> {
  const root = join(cacheRoot(), 'emt-os');
  const key = await fixtureKey(EMT_OS_SOURCE_DIR);
  const dir = join(root, key);
  const ready = () => exists(join(dir, 'info.json'));
  if (await ready()) return loadEmtOs(dir);
  if (process.getuid?.() !== 0) throw new Error('building the EMT OS image fixture needs root (debootstrap, chroot)');
  await mkdir(root, { recursive: true });
  const lockPath = join(root, 'build.lock');
  if ((await acquireLock(lockPath, ready)) === 'done-elsewhere') return loadEmtOs(dir);
  try {
    if (!(await ready())) {
      process.stderr.write(`building the EMT OS image fixture (several minutes) into ${dir}...\n`);
      const r = await execa('bash', [BUILDER, dir], {
        env: { FIXTURE_DEB_CACHE: join(cacheRoot(), 'emt-os-debs') },
        stdin: 'ignore',
        all: true,
        reject: false,
        timeout: BUILD_TIMEOUT_MS,
      });
      if (r.exitCode !== 0 || r.timedOut) {
        const tail = (r.all ?? '').split('\n').slice(-40).join('\n');
        throw new Error(`building the EMT OS image (${BUILDER} ${dir}) failed: exit ${r.exitCode}\n${tail}`);
      }
    }
  } finally {
    await rm(lockPath, { force: true });
  }
  return loadEmtOs(dir);
}
