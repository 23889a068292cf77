// Why: the probe's facts are reused by the image's sha256 (a real image's probe inflates GiBs);
// an entry must round-trip, and a damaged, foreign or mis-keyed entry must never be used.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OsImageFacts } from '../../../src/io/image-probe.js';
import { probeCacheDir, readProbeCache, writeProbeCache } from '../../../src/io/probe-cache.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'make-iso-probe-cache-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const part = {
  number: 2,
  name: 'rootfs',
  typeGuid: '4f68bce3-e8cd-4db1-96e7-fbcaf984b709',
  firstLba: 2048,
  lastLba: 4095,
};
const FACTS: OsImageFacts = {
  layout: { rootfs: part, esp: { ...part, number: 1, name: 'esp' } },
  has: { cloudInit: true, chrony: false, sudo: true, sshd: false, containerEngine: false },
  probedBytes: 4096,
  raw: {
    bytes: 4096 * 512,
    sha256: '12'.repeat(32),
    ext4: [{ name: 'rootfs', start: 2048 * 512, incompat: 0x2c2, roCompat: 0x46b }],
  },
};
const SHA = 'ab'.repeat(32);

describe('probe cache', () => {
  it('lives under $MAKE_ISO_CACHE, else $XDG_CACHE_HOME/make-iso', () => {
    expect(probeCacheDir({ MAKE_ISO_CACHE: '/c' })).toBe('/c/image-probe');
    expect(probeCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/make-iso/image-probe');
  });

  it('returns what was stored for the same sha256, nothing for another', async () => {
    expect(await readProbeCache(SHA, dir)).toBeUndefined();
    await writeProbeCache(SHA, FACTS, dir);
    expect(await readProbeCache(SHA, dir)).toEqual(FACTS);
    expect(await readProbeCache('cd'.repeat(32), dir)).toBeUndefined();
    const withPers: OsImageFacts = {
      ...FACTS,
      layout: { ...FACTS.layout, persistent: { partition: { ...part, number: 3 }, bytes: 1 << 20, last: true } },
    };
    await writeProbeCache('ef'.repeat(32), withPers, dir);
    expect(await readProbeCache('ef'.repeat(32), dir)).toEqual(withPers);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('ignores a damaged or foreign entry and a key that is not a sha256', async () => {
    await writeProbeCache(SHA, FACTS, dir);
    const [file] = readdirSync(dir).filter((n) => n.startsWith(SHA));
    writeFileSync(join(dir, file!), '{"layout": 1}');
    expect(await readProbeCache(SHA, dir)).toBeUndefined();
    writeFileSync(join(dir, file!), 'not json');
    expect(await readProbeCache(SHA, dir)).toBeUndefined();
    // an entry of an older make-iso (no raw facts) under today's name: probed again
    const { raw: _, ...old } = FACTS;
    writeFileSync(join(dir, file!), JSON.stringify(old));
    expect(await readProbeCache(SHA, dir)).toBeUndefined();
    await writeProbeCache('../escape', FACTS, dir);
    expect(await readProbeCache('../escape', dir)).toBeUndefined();
    expect(readdirSync(join(dir, '..')).some((n) => n.startsWith('escape'))).toBe(false);
  });
});
