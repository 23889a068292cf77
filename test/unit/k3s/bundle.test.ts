// Why: the build refuses a k3s bundle the node could not use: a missing file or checksum, a checksum that differs, a binary for another architecture.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VerificationError } from '../../../src/errors.js';
import { hasK3sBundle, readK3sBundle } from '../../../src/k3s/bundle.js';

let dir = '';
let bundle = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'make-iso-k3s-'));
  bundle = join(dir, 'bundle');
  mkdirSync(bundle);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A 64-byte ELF header for e_machine (62 = x86-64, 183 = aarch64). */
function elf(machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2;
  b[5] = 1;
  b.writeUInt16LE(machine, 18);
  return b;
}
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function write(files: Record<string, Buffer | string>, sums: Record<string, string> | 'auto' = 'auto'): void {
  for (const [n, c] of Object.entries(files)) writeFileSync(join(bundle, n), c);
  const list = sums === 'auto' ? Object.fromEntries(Object.entries(files).map(([n, c]) => [n, sha(c)])) : sums;
  writeFileSync(
    join(bundle, 'sha256sum-amd64.txt'),
    Object.entries(list)
      .map(([n, s]) => `${s}  ${n}\n`)
      .join(''),
  );
}
const good = () => ({ k3s: elf(62), 'install.sh': '#!/bin/sh\n', 'k3s-airgap-images-amd64.tar.zst': 'images' });

describe('readK3sBundle', () => {
  it('accepts a complete amd64 bundle and returns its three files with their sha256', async () => {
    write(good());
    const b = await readK3sBundle(bundle, undefined, dir);
    expect(b.arch).toBe('amd64');
    expect(b.files.map((f) => [f.name, f.sha256])).toEqual([
      ['k3s', sha(elf(62))],
      ['install.sh', sha('#!/bin/sh\n')],
      ['k3s-airgap-images-amd64.tar.zst', sha('images')],
    ]);
  });

  it('takes the bundle from userAppsDir/artifacts when the answers name none', async () => {
    const apps = join(dir, 'apps');
    bundle = join(apps, 'artifacts');
    mkdirSync(bundle, { recursive: true });
    write(good());
    expect(await hasK3sBundle({ kubernetes: {}, userAppsDir: apps })).toBe(true);
    expect(await hasK3sBundle({ kubernetes: {}, userAppsDir: dir })).toBe(false);
    expect((await readK3sBundle(undefined, apps, dir)).source).toBe(bundle);
  });

  it('names every missing file', async () => {
    writeFileSync(join(bundle, 'README'), 'x');
    await expect(readK3sBundle(bundle, undefined, dir)).rejects.toThrow(
      /lacks the k3s binary \(k3s\), the air-gap images tarball .*, the install script \(install\.sh\)/,
    );
  });

  it('names the files without a checksum', async () => {
    const f = good();
    write(f, { k3s: sha(f.k3s) });
    await expect(readK3sBundle(bundle, undefined, dir)).rejects.toThrow(
      /has no sha256 for install\.sh, k3s-airgap-images-amd64\.tar\.zst/,
    );
  });

  it('refuses a file whose sha256 differs (a verification failure)', async () => {
    const f = good();
    write(f, { k3s: sha(f.k3s), 'install.sh': sha('other'), 'k3s-airgap-images-amd64.tar.zst': sha('images') });
    const err = await readK3sBundle(bundle, undefined, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as Error).message).toMatch(/install\.sh has sha256 [0-9a-f]{64}, but the bundle's checksum says/);
  });

  it('accepts <file>.sha256 files instead of a list', async () => {
    const f = good();
    for (const [n, c] of Object.entries(f)) {
      writeFileSync(join(bundle, n), c);
      writeFileSync(join(bundle, `${n}.sha256`), `${sha(c)}\n`);
    }
    expect((await readK3sBundle(bundle, undefined, dir)).files).toHaveLength(3);
  });

  it('refuses a binary for another architecture, and one that is not ELF', async () => {
    write({ ...good(), k3s: elf(183) });
    await expect(readK3sBundle(bundle, undefined, dir)).rejects.toThrow(/is for arm64 \(binary\).*the node is amd64/);
    write({ ...good(), k3s: '#!/bin/sh\n' });
    await expect(readK3sBundle(bundle, undefined, dir)).rejects.toThrow(/k3s is not an ELF executable/);
  });

  it('says when the named bundle does not exist', async () => {
    await expect(readK3sBundle(join(dir, 'nope'), undefined, dir)).rejects.toThrow(
      /kubernetes\.bundle: .*nope does not exist/,
    );
  });
});
