// Why: package payloads must come out exactly as the reference tools unpack them (rpm2cpio | cpio,
// dpkg-deb -x), and a cut or damaged package must give one clear error naming it, never hang.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstat, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readPackage } from '../../../src/packages/read.js';
import type { PackageEntry } from '../../../src/packages/entries.js';
import { UserError } from '../../../src/errors.js';
import { sh, tempDir } from '../../helpers/initramfs-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('make-iso-pkg-'));
});
afterAll(() => cleanup());

/** A seeded pseudo-random buffer (incompressible, reproducible). */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** The files every test package carries: a binary, a script, a library link, a hard link, a big file. */
async function payloadTree(root: string): Promise<void> {
  await sh(
    `mkdir -p ${root}/usr/bin ${root}/usr/lib64 ${root}/usr/share/demo/deep/er && ` +
      `printf '#!/usr/bin/gawk -f\\nBEGIN { print 1 }\\n' > ${root}/usr/bin/demo-script && chmod 755 ${root}/usr/bin/demo-script && ` +
      `cp /usr/bin/true ${root}/usr/bin/demo-true && chmod 755 ${root}/usr/bin/demo-true && ` +
      `ln -f ${root}/usr/bin/demo-true ${root}/usr/bin/demo-true2 && ` +
      `printf 'lib' > ${root}/usr/lib64/libdemo.so.1.2 && ln -sf libdemo.so.1.2 ${root}/usr/lib64/libdemo.so.1 && ` +
      `: > ${root}/usr/share/demo/empty && printf 'x' > ${root}/usr/share/demo/deep/er/one`,
  );
  await writeFile(join(root, 'usr/share/demo/big.bin'), noise(3 * (1 << 20) + 17, 7), { mode: 0o640 });
}

/** Every path below root with its type, mode and content (what a comparison needs). */
async function treeEntries(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string): Promise<void> {
    for (const n of await readdir(d)) {
      const p = join(d, n);
      const st = await lstat(p);
      const key = relative(root, p);
      if (st.isSymbolicLink()) out.set(key, `symlink ${await readlink(p)}`);
      else if (st.isDirectory()) {
        out.set(key, `dir ${(st.mode & 0o7777).toString(8)}`);
        await walk(p);
      } else out.set(key, `file ${(st.mode & 0o7777).toString(8)} ${(await readFile(p)).toString('base64')}`);
    }
  }
  await walk(root);
  return out;
}

function entryMap(entries: PackageEntry[]): Map<string, string> {
  return new Map(
    entries.map((e) => [
      e.path,
      e.type === 'symlink'
        ? `symlink ${e.target}`
        : e.type === 'dir'
          ? `dir ${e.mode.toString(8)}`
          : `file ${e.mode.toString(8)} ${e.content.toString('base64')}`,
    ]),
  );
}

/** Builds an rpm whose payload uses the given rpm payload io (w19.zstdio, w9.xzdio, w6.gzdio). */
async function buildRpm(payloadIo: string): Promise<string> {
  const top = join(dir, `rpm-${payloadIo}`);
  const spec = `Name: demo-${payloadIo.replace(/\W/g, '')}
Version: 1.0
Release: 1
Summary: make-iso test package
License: MIT
BuildArch: noarch
%define _binary_payload ${payloadIo}
%define __os_install_post %{nil}
%define debug_package %{nil}
%define _binaries_in_noarch_packages_terminate_build 0
%description
test
%install
mkdir -p %{buildroot}
cp -a ${join(dir, 'payload')}/. %{buildroot}/
%files
%dir /usr/share/demo
/usr/bin/demo-script
/usr/bin/demo-true
/usr/bin/demo-true2
/usr/lib64/libdemo.so.1
/usr/lib64/libdemo.so.1.2
/usr/share/demo/empty
/usr/share/demo/big.bin
/usr/share/demo/deep
`;
  await sh(`mkdir -p ${top}/SPECS`);
  await writeFile(join(top, 'SPECS/demo.spec'), spec);
  await sh(
    `rpmbuild --quiet --define "_topdir ${top}" --define "_build_id_links none" -bb ${top}/SPECS/demo.spec >/dev/null`,
  );
  return (await sh(`ls ${top}/RPMS/noarch/*.rpm`)).trim();
}

describe('rpm reader', () => {
  beforeAll(async () => {
    await payloadTree(join(dir, 'payload'));
  }, 120_000);

  it.each(['w19.zstdio', 'w9.xzdio', 'w6.gzdio'])(
    'unpacks an rpm with a %s payload byte for byte as rpm2cpio | cpio -idm does',
    async (io) => {
      const rpm = await buildRpm(io);
      const ref = join(dir, `ref-${io}`);
      await sh(`mkdir -p ${ref} && cd ${ref} && rpm2cpio ${rpm} | cpio -idm --quiet`);
      const pkg = await readPackage(rpm);
      expect(pkg.format).toBe('rpm');
      expect(pkg.name).toBe(`demo-${io.replace(/\W/g, '')}`);
      const ours = entryMap(pkg.entries);
      const theirs = await treeEntries(ref);
      // cpio -idm creates parent directories the payload does not list; compare what both hold.
      for (const [p, v] of ours) expect(theirs.get(p), p).toBe(v);
      for (const [p, v] of theirs) if (!v.startsWith('dir ')) expect(ours.get(p), p).toBe(v);
      expect(ours.get('usr/bin/demo-true2')).toBe(ours.get('usr/bin/demo-true'));
      expect(ours.get('usr/share/demo/big.bin')).toMatch(/^file 640 /);
    },
  );
});

describe('deb reader', () => {
  it.each(['xz', 'zstd', 'gzip', 'none'])('unpacks a %s .deb as dpkg-deb -x does', async (comp) => {
    const root = join(dir, `deb-${comp}`);
    await payloadTree(root);
    await sh(
      `mkdir -p ${root}/DEBIAN && printf 'Package: demo-${comp}\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@t>\\nDescription: t\\n' > ${root}/DEBIAN/control`,
    );
    const deb = join(dir, `demo-${comp}.deb`);
    await sh(`dpkg-deb --root-owner-group -Z${comp} -b ${root} ${deb} >/dev/null`);
    const ref = join(dir, `deb-ref-${comp}`);
    await sh(`dpkg-deb -x ${deb} ${ref}`);
    const pkg = await readPackage(deb);
    expect(pkg.name).toBe(`demo-${comp}`);
    expect(entryMap(pkg.entries)).toEqual(await treeEntries(ref));
  });
});

describe('damaged packages', () => {
  let good: Record<string, Buffer>;
  beforeAll(async () => {
    const root = join(dir, 'deb-damage');
    await payloadTree(root);
    await sh(
      `mkdir -p ${root}/DEBIAN && printf 'Package: d\\nVersion: 1\\nArchitecture: all\\nMaintainer: t <t@t>\\nDescription: t\\n' > ${root}/DEBIAN/control && dpkg-deb -Zxz -b ${root} ${dir}/damage.deb >/dev/null && dpkg-deb -Zzstd -b ${root} ${dir}/damage-zst.deb >/dev/null`,
    );
    good = {
      'zstd.rpm': await readFile(await buildRpm('w19.zstdio')),
      'xz.rpm': await readFile(await buildRpm('w9.xzdio')),
      'xz.deb': await readFile(join(dir, 'damage.deb')),
      'zst.deb': await readFile(join(dir, 'damage-zst.deb')),
    };
  }, 180_000);

  /** Reads a damaged copy: must either fail with a UserError naming the file, or succeed. */
  async function readDamaged(name: string, bytes: Buffer): Promise<'error' | 'read'> {
    const f = join(dir, `bad-${name}`);
    await writeFile(f, bytes);
    try {
      await readPackage(f);
      return 'read';
    } catch (err) {
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain(f);
      expect((err as Error).message).not.toMatch(/\n/);
      return 'error';
    }
  }

  it.each(['zstd.rpm', 'xz.rpm', 'xz.deb', 'zst.deb'])('a cut %s fails naming the file, at every cut', async (name) => {
    const b = good[name]!;
    const cuts = [
      0,
      1,
      50,
      96,
      100,
      200,
      1000,
      Math.floor(b.length / 3),
      Math.floor(b.length / 2),
      b.length - 100,
      b.length - 1,
    ];
    for (const cut of cuts)
      expect(await readDamaged(`${name}-cut${cut}`, b.subarray(0, cut)), `cut at ${cut}`).toBe('error');
  });

  it.each(['zstd.rpm', 'xz.rpm', 'xz.deb', 'zst.deb'])(
    'a %s with flipped bytes fails cleanly or reads',
    async (name) => {
      const b = good[name]!;
      let errors = 0;
      for (let i = 0; i < 40; i++) {
        const at = (i * 7919 * 131) % b.length;
        const bad = Buffer.from(b);
        bad[at] = bad[at]! ^ (1 << (i % 8));
        if ((await readDamaged(`${name}-flip${i}`, bad)) === 'error') errors++;
      }
      expect(errors).toBeGreaterThan(0);
    },
  );

  it('names unsupported and missing files', async () => {
    await expect(readPackage(join(dir, 'nope.rpm'))).rejects.toThrow(/cannot read the package .*nope\.rpm/);
    await writeFile(join(dir, 'x.txt'), 'x');
    await expect(readPackage(join(dir, 'x.txt'))).rejects.toThrow(/x\.txt is not a package file/);
    await writeFile(
      join(dir, 'fake.rpm'),
      'not an rpm at all, just text; long enough for the lead of an rpm file........................................',
    );
    await expect(readPackage(join(dir, 'fake.rpm'))).rejects.toThrow(
      /fake\.rpm is not a readable \.rpm package \(not an rpm package/,
    );
  });
});
