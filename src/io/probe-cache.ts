// Why: probing a real OS image inflates GiBs (up to the end of its rootfs). Its facts depend only
// on the image's bytes, so they are cached by the image's sha256 and reused when the build knows
// that sha256 up front (osImage.sha256 or the image's .sha256sum); the build's own hash then
// confirms the file is that image, or fails. Best effort: a cache that cannot be read or written
// only costs the probe.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { PROBED_FILES, type OsImageFacts } from './image-probe.js';

/** `$MAKE_ISO_CACHE/image-probe`, else `${XDG_CACHE_HOME:-~/.cache}/make-iso/image-probe`. */
export function probeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.MAKE_ISO_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'make-iso');
  return join(root, 'image-probe');
}

const partition = z.strictObject({
  number: z.number().int(),
  name: z.string(),
  typeGuid: z.string(),
  firstLba: z.number().int(),
  lastLba: z.number().int(),
});
const factsSchema = z.strictObject({
  layout: z.strictObject({
    rootfs: partition,
    esp: partition,
    persistent: z.strictObject({ partition, bytes: z.number().int(), last: z.boolean() }).optional(),
  }),
  has: z.strictObject({
    cloudInit: z.boolean(),
    chrony: z.boolean(),
    sudo: z.boolean(),
    sshd: z.boolean(),
    containerEngine: z.boolean(),
  }),
  probedBytes: z.number().int(),
  raw: z.strictObject({
    bytes: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    ext4: z.array(
      z.strictObject({
        name: z.string(),
        start: z.number().int().nonnegative(),
        incompat: z.number().int().nonnegative(),
        roCompat: z.number().int().nonnegative(),
      }),
    ),
  }),
});

const SHA = /^[0-9a-f]{64}$/;
/** What the probe looks for is part of the key: a make-iso probing other paths (or recording other
 * facts: PROBE_FORMAT) does not reuse the entry. */
const PROBE_FORMAT = 2; // 2: raw size, raw sha256 and ext4 features of the whole image
const PROBE_KEY = createHash('sha256')
  .update(JSON.stringify({ PROBED_FILES, PROBE_FORMAT }))
  .digest('hex')
  .slice(0, 12);
const entry = (dir: string, sha256: string) => join(dir, `${sha256}.${PROBE_KEY}.json`);

/** The cached facts of the image with this sha256, if any (a damaged or foreign entry is ignored). */
export async function readProbeCache(sha256: string, dir = probeCacheDir()): Promise<OsImageFacts | undefined> {
  if (!SHA.test(sha256)) return undefined;
  try {
    const parsed = factsSchema.safeParse(JSON.parse(await readFile(entry(dir, sha256), 'utf8')));
    if (!parsed.success) return undefined;
    const { persistent, ...layout } = parsed.data.layout;
    return { ...parsed.data, layout: persistent ? { ...layout, persistent } : layout };
  } catch {
    return undefined;
  }
}

/** Stores the facts of the image with this sha256 (temp file + rename; failures are ignored). */
export async function writeProbeCache(sha256: string, facts: OsImageFacts, dir = probeCacheDir()): Promise<void> {
  if (!SHA.test(sha256)) return;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${sha256}.${process.pid}.tmp`);
    await writeFile(tmp, `${JSON.stringify(facts)}\n`, { mode: 0o600 });
    await rename(tmp, entry(dir, sha256));
  } catch {
    // best effort: the next build probes again
  }
}
