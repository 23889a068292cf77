// Why: the build cache must hand back exactly what a release yielded (content addressed), never
// a stale digest of a changed file, never half an entry under concurrent builds; and the one-pass
// release reader must hash every byte of the archive, as sha256sum does.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { BuildCache, buildCacheDir, openBuildCache } from '../../../src/build/cache.js';
import { readBootkit, unpackRelease } from '../../../src/bootkit/release.js';
import { sha256File, sha256Text } from '../../../src/io/hash.js';
import { VerificationError } from '../../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mi-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function kernelBytes(): Buffer {
  const k = Buffer.alloc(0x400);
  k.write('HdrS', 0x202, 'latin1');
  return k;
}

async function release(extra: Record<string, string> = {}, name = 'rel.tar.gz'): Promise<string> {
  const src = join(dir, `src-${name}`);
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'vmlinuz-6.1.0-t'), kernelBytes());
  await writeFile(join(src, 'initramfs-6.1.0-t.img'), 'the initramfs');
  for (const [n, c] of Object.entries(extra)) await writeFile(join(src, n), c);
  const archive = join(dir, name);
  await execa('tar', ['-czf', archive, '-C', src, '.']);
  return archive;
}

describe('buildCacheDir', () => {
  it('follows MAKE_ISO_CACHE, then XDG_CACHE_HOME, and is off with MAKE_ISO_NO_CACHE', () => {
    expect(buildCacheDir({ MAKE_ISO_CACHE: '/c' })).toBe('/c/build');
    expect(buildCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/make-iso/build');
    expect(buildCacheDir({ MAKE_ISO_CACHE: '/c', MAKE_ISO_NO_CACHE: '1' })).toBeUndefined();
    expect(buildCacheDir({ MAKE_ISO_CACHE: '/c', MAKE_ISO_NO_CACHE: '0' })).toBe('/c/build');
    expect(openBuildCache({ MAKE_ISO_NO_CACHE: '1' })).toBeUndefined();
  });
});

describe('remembered digests', () => {
  it('remembers a digest until the file changes, then hashes it again', async () => {
    const cache = new BuildCache(join(dir, 'cache'));
    const f = join(dir, 'img');
    await writeFile(f, 'one');
    expect(await cache.knownSha256(f)).toBeUndefined();
    expect(await cache.sha256(f)).toBe(sha256Text('one'));
    expect(await cache.knownSha256(f)).toBe(sha256Text('one'));
    await writeFile(f, 'two'); // same size: only mtime/ctime tell
    expect(await cache.knownSha256(f)).toBeUndefined();
    expect(await cache.sha256(f)).toBe(sha256Text('two'));
  });
});

describe('unpackRelease (one pass)', () => {
  it('hashes the whole archive like sha256sum and unpacks only kernel/initramfs candidates', async () => {
    const archive = await release({ 'README.md': 'hello', 'vmlinuz-6.1.0-t.sig': 'sig' });
    const out = join(dir, 'out');
    await mkdir(out);
    const r = await unpackRelease(archive, out);
    expect(r.sha256).toBe(await sha256File(archive));
    const byPath = Object.fromEntries(r.members.map((m) => [m.path, m]));
    expect(Object.keys(byPath)).toEqual(
      expect.arrayContaining(['README.md', 'vmlinuz-6.1.0-t', 'initramfs-6.1.0-t.img', 'vmlinuz-6.1.0-t.sig']),
    );
    expect(byPath['README.md']!.file).toBeUndefined();
    expect(byPath['vmlinuz-6.1.0-t.sig']!.file).toBeUndefined();
    const initrd = byPath['initramfs-6.1.0-t.img']!;
    expect(await readFile(initrd.file!, 'utf8')).toBe('the initramfs');
    expect(initrd.sha256).toBe(sha256Text('the initramfs'));
  });
});

describe('readBootkit with a cache', () => {
  it('stores what a release yields and finds it again without unpacking', async () => {
    const archive = await release();
    const cache = new BuildCache(join(dir, 'cache'));
    const work = join(dir, 'work');
    await mkdir(work);
    const first = await readBootkit({ archive }, work, undefined, { cache });
    expect(first.kernel.startsWith(cache.dir)).toBe(true);
    expect(first.initramfsSha256).toBe(sha256Text('the initramfs'));
    expect(first.sourceSha256).toBe(await sha256File(archive));
    expect(await readdir(work)).toEqual([]); // nothing unpacked into the work dir
    const second = await readBootkit({ archive }, work, undefined, { cache });
    expect(second).toEqual(first);
    // no staging directory is left behind
    expect((await readdir(join(cache.dir, 'bootkits'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('still refuses a release that does not match its checksum, cached or not', async () => {
    const archive = await release();
    const cache = new BuildCache(join(dir, 'cache'));
    await readBootkit({ archive }, dir, undefined, { cache });
    await expect(readBootkit({ archive }, dir, 'c'.repeat(64), { cache })).rejects.toThrow(VerificationError);
  });

  it('two builds storing the same release at once both get one complete entry', async () => {
    const archive = await release();
    const cache = new BuildCache(join(dir, 'cache'));
    const [a, b] = await Promise.all([
      readBootkit({ archive }, dir, undefined, { cache }),
      readBootkit({ archive }, dir, undefined, { cache }),
    ]);
    expect(a.initramfs).toBe(b.initramfs);
    expect(await readFile(a.initramfs, 'utf8')).toBe('the initramfs');
    const names = await readdir(join(cache.dir, 'bootkits'));
    expect(names.filter((n) => n.startsWith('.'))).toEqual([]);
    expect(names).toHaveLength(1);
  });

  it('a torn entry (a broken entry.json) is a miss, and is replaced', async () => {
    const archive = await release();
    const cache = new BuildCache(join(dir, 'cache'));
    const first = await readBootkit({ archive }, dir, undefined, { cache });
    await writeFile(join(first.kernel, '..', 'entry.json'), '{"kernelName":');
    expect(await cache.bootkit(first.sourceSha256)).toBeUndefined();
    const again = await readBootkit({ archive }, dir, undefined, { cache });
    expect(again.initramfsSha256).toBe(first.initramfsSha256);
    expect(await cache.bootkit(first.sourceSha256)).toBeDefined();
  });
});

describe('cache summary and clear', () => {
  it('lists bootkit entries and remembered digests, and clear empties it', async () => {
    const archive = await release();
    const cache = new BuildCache(join(dir, 'cache'));
    await readBootkit({ archive }, dir, undefined, { cache });
    const s = await cache.summary();
    expect(s.bootkits).toHaveLength(1);
    expect(s.hashes).toBe(1);
    expect(s.bytes).toBeGreaterThan(0);
    await cache.clear();
    expect((await cache.summary()).bootkits).toEqual([]);
  });
});
