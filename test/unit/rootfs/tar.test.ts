// Why: the tar stage must pass untouched entries through byte for byte and write entries GNU tar reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { ByteReader } from '../../../src/io/byte-reader.js';
import { readTar } from '../../../src/rootfs/tar.js';
import { rootfsTarEdit, transformTar, type TarEdit } from '../../../src/rootfs/transform.js';
import { normalizeChange } from '../../../src/rootfs/change.js';
import { makeRootTree, makeTar, sh, tempDir } from '../../helpers/initramfs-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  const tree = join(dir, 'tree');
  await makeRootTree(tree);
  // a sparse file and an xattr (when the temp filesystem supports user xattrs)
  await sh(`truncate -s 5M usr/lib/sparse.img && printf end >> usr/lib/sparse.img`, tree);
  await sh(
    `setfattr -n user.make-iso -v yes etc/os-release 2>/dev/null || python3 -c "import os; os.setxattr('etc/os-release','user.make-iso',b'yes')" 2>/dev/null || true`,
    tree,
  );
});
afterAll(() => cleanup());

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

const keepAll: TarEdit = { keep: () => true, append: () => [] };

describe('tar transform', () => {
  it.each([
    ['pax', '--xattrs'],
    ['gnu', '--sparse'],
    ['pax', '--sparse --sparse-version=1.0'],
    ['gnu', '--sparse --sparse-version=0.1 --format=posix'],
  ])('passes a GNU tar --format=%s %s archive through byte for byte', async (format, extra) => {
    const f = join(dir, `in-${format}.tar`);
    await sh(`tar --format=${format} ${extra} --sort=name -C tree -cf ${f} .`, dir);
    const input = await readFile(f);
    if (extra === '--xattrs') expect(input.includes('SCHILY.xattr.user.make-iso=yes')).toBe(true);
    for (const chunk of [333, 65536]) {
      const out = await collect(transformTar(createReadStream(f, { highWaterMark: chunk }), keepAll));
      expect(out.equals(input)).toBe(true);
    }
    // and the parser sees the real names (long names, hard links, devices)
    const seen = new Map<string, { type: string; linkpath: string }>();
    for await (const r of readTar(new ByteReader(createReadStream(f)))) {
      if (r.kind === 'entry') seen.set(r.path, { type: r.type, linkpath: r.linkpath });
      else if (r.kind === 'end') for await (const _ of r.raw());
    }
    expect([...seen.keys()].some((p) => p.length > 200)).toBe(true);
    expect(seen.get('./usr/lib/os-release')).toEqual({ type: 'hardlink', linkpath: './etc/os-release' });
    expect(seen.get('./dev/null')?.type).toBe('chardev');
    expect(seen.get('./lib')).toEqual({ type: 'symlink', linkpath: 'usr/lib' });
  });

  it('drops wants links, masks units and adds files that GNU tar extracts', async () => {
    const f = join(dir, 'edit-in.tar');
    await makeTar(join(dir, 'tree'), f, 'gnu');
    const change = normalizeChange({
      files: [
        { path: '/usr/lib/make-iso/installer.sh', mode: 0o755, content: Buffer.from('#!/bin/bash\necho install\n') },
        { path: '/etc/make-iso/install.env', mode: 0o600, content: Buffer.from("MI_X='1'\n") },
        {
          path: '/etc/systemd/system/multi-user.target.wants/make-iso-installer.service',
          symlink: '../make-iso-installer.service',
        },
        { path: '/etc/os-release', mode: 0o644, content: Buffer.from('ID=replaced\n') },
        { path: `/usr/lib/make-iso/${'deep/'.repeat(30)}x.txt`, mode: 0o644, content: Buffer.from('deep\n') },
      ],
      mask: ['tink-worker', 'caddy.service'],
    });
    const edit = rootfsTarEdit(change, 1700000000);
    const out = join(dir, 'edit-out.tar');
    await writeFile(out, await collect(transformTar(createReadStream(f), edit)));
    expect(edit.report.removedLinks.sort()).toEqual([
      './etc/systemd/system/multi-user.target.wants/caddy.service',
      './etc/systemd/system/multi-user.target.wants/tink-worker.service',
    ]);
    expect(edit.report.replaced).toEqual(['./etc/os-release']);
    expect(edit.report.createdDirs).toContain('etc/make-iso');
    const list = (await sh(`tar -tf ${out}`)).split('\n');
    expect(list).toContain('./usr/lib/make-iso/installer.sh');
    expect(list).toContain('./etc/make-iso/');
    expect(list.filter((l) => l === './etc/os-release')).toHaveLength(2); // original kept for its hard link
    await sh(`mkdir x && tar -xf ${out} -C x`, dir);
    const x = join(dir, 'x');
    expect(await readlink(join(x, 'etc/systemd/system/caddy.service'))).toBe('/dev/null');
    expect(await readlink(join(x, 'etc/systemd/system/tink-worker.service'))).toBe('/dev/null');
    expect(await readFile(join(x, 'etc/os-release'), 'utf8')).toBe('ID=replaced\n');
    expect(await readFile(join(x, `usr/lib/make-iso/${'deep/'.repeat(30)}x.txt`), 'utf8')).toBe('deep\n');
    expect(await sh(`ls etc/systemd/system/multi-user.target.wants | sort`, x)).toBe(
      'fluent-bit.service\nmake-iso-installer.service\nsshd.service',
    );
    expect(await sh(`stat -c %a etc/make-iso/install.env usr/lib/make-iso/installer.sh`, x)).toBe('600\n755');
    // usr-merge links untouched, and the hard link still works
    expect(await readlink(join(x, 'lib'))).toBe('usr/lib');
    expect(await readFile(join(x, 'usr/lib/os-release'), 'utf8')).toBe('ID=emt\n');
  });
});
