// Why: the newc reader must give back every byte it read, and the writer must be readable by GNU cpio.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { ByteReader } from '../../../src/io/byte-reader.js';
import { buildCpio, readCpio } from '../../../src/initramfs/cpio.js';
import { makeRootTree, sh, tempDir } from '../../helpers/initramfs-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  await makeRootTree(join(dir, 'tree'));
});
afterAll(() => cleanup());

async function reemit(file: string, chunk: number): Promise<{ bytes: Buffer; names: string[] }> {
  const out: Buffer[] = [];
  const names: string[] = [];
  const reader = new ByteReader(createReadStream(file, { highWaterMark: chunk }));
  for await (const r of readCpio(reader)) {
    if (r.kind === 'padding') out.push(r.bytes);
    else {
      names.push(r.name);
      for await (const c of r.raw()) out.push(Buffer.from(c));
    }
  }
  return { bytes: Buffer.concat(out), names };
}

describe('newc cpio', () => {
  it.each(['newc', 'crc'])(
    're-emits a GNU cpio -H %s archive byte for byte (hard links, devices, fifo)',
    async (fmt) => {
      const f = join(dir, `gnu-${fmt}.cpio`);
      // two archives back to back, like a kernel's built-in + external initramfs
      await sh(
        `cd tree && find . | LC_ALL=C sort | cpio -o -H ${fmt} --quiet > ${f} && echo etc/os-release | cpio -o -H ${fmt} --quiet >> ${f}`,
        dir,
      );
      for (const chunk of [7, 4096, 1 << 20]) {
        const { bytes, names } = await reemit(f, chunk);
        expect(bytes.equals(await readFile(f))).toBe(true);
        expect(names).toContain('dev/null');
        expect(names.filter((n) => n === 'TRAILER!!!')).toHaveLength(2);
      }
    },
  );

  it('skips unread data and reads data on request', async () => {
    const f = join(dir, 'gnu.cpio');
    await sh(`cd tree && find . | LC_ALL=C sort | cpio -o -H newc --quiet > ${f}`, dir);
    const reader = new ByteReader(createReadStream(f, { highWaterMark: 1000 }));
    let content = '';
    for await (const r of readCpio(reader, { stopAtTrailer: true })) {
      if (r.kind === 'entry' && r.name === 'usr/lib/os-release')
        for await (const c of r.data()) content += c.toString();
    }
    expect(content).toBe('ID=emt\n');
  });

  it('writes archives GNU cpio extracts: files, modes, dirs, symlinks', async () => {
    const buf = buildCpio(
      [
        { name: 'a', type: 'dir', mode: 0o755 },
        { name: 'a/run.sh', type: 'file', mode: 0o755, content: Buffer.from('#!/bin/sh\necho hi\n') },
        { name: 'a/odd', type: 'file', mode: 0o600, content: Buffer.from('12345') },
        { name: 'a/link', type: 'symlink', target: '/dev/null' },
      ],
      1700000000,
    );
    const f = join(dir, 'mine.cpio');
    await writeFile(f, buf);
    expect((await sh(`cpio -t --quiet < ${f}`)).split('\n')).toEqual(['a', 'a/run.sh', 'a/odd', 'a/link']);
    await sh(`mkdir x && cd x && cpio -idm --quiet < ${f}`, dir);
    expect(await readFile(join(dir, 'x/a/run.sh'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect((await stat(join(dir, 'x/a/odd'))).mode & 0o7777).toBe(0o600);
    expect((await stat(join(dir, 'x/a/run.sh'))).mtimeMs).toBe(1700000000_000);
    expect(await readlink(join(dir, 'x/a/link'))).toBe('/dev/null');
    // and our reader re-emits our own output unchanged
    expect((await reemit(f, 3)).bytes.equals(buf)).toBe(true);
  });
});
