// Why: the chain walker must find every archive's boundaries for each compression, byte exact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFile, writeFile, appendFile } from 'node:fs/promises';
import { walkInitramfs } from '../../../src/initramfs/container.js';
import { UserError } from '../../../src/errors.js';
import { compressCmd, makeInitramfs, sh, tempDir, type Comp } from '../../helpers/initramfs-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

describe('walkInitramfs', () => {
  it.each(['gzip', 'zstd', 'xz', 'none', 'lz4'] as Comp[])('finds the archive and its entries (%s)', async (c) => {
    const work = join(dir, `one-${c}`);
    const out = join(work, 'initrd.img');
    await sh(`mkdir -p ${work}`);
    await makeInitramfs(work, out, { compression: c });
    const names: string[] = [];
    const layout = await walkInitramfs(out, (_a, e) => void names.push(e.name));
    expect(layout.archives).toHaveLength(1);
    expect(layout.archives[0]).toMatchObject({ offset: 0, compression: c });
    expect(names).toContain('rootfs.tar.gz');
    expect(names).toContain('etc/cmdline.d/95root-dev.conf');
    expect(layout.archives[0]!.entries).toBe(names.length);
    // an uncompressed archive ends at its trailer; GNU cpio pads to 512 bytes with zeros
    if (c !== 'none') expect(layout.archives[0]!.length).toBe(layout.size);
  });

  it('walks a chain: microcode cpio, zero padding, gzip, zstd, xz members, trailing zeros', async () => {
    const work = join(dir, 'chain');
    await sh(`mkdir -p ${work}`);
    const out = join(work, 'initrd.img');
    await makeInitramfs(work, out, { compression: 'gzip', microcode: true });
    const base = (await readFile(out)).length;
    // more archives, each a tiny cpio, separated by zero padding
    await sh(`mkdir -p ${work}/x && cd ${work}/x && echo hi > hi.txt`);
    for (const c of ['zstd', 'xz', 'none'] as Comp[]) {
      await appendFile(out, Buffer.alloc(4 - ((await readFile(out)).length % 4 || 4)));
      await appendFile(out, Buffer.alloc(16));
      await sh(`cd ${work}/x && echo hi.txt | cpio -o -H newc --quiet | ${compressCmd(c)} >> ${out}`);
    }
    await appendFile(out, Buffer.alloc(100));
    const layout = await walkInitramfs(out);
    expect(layout.archives.map((a) => a.compression)).toEqual(['none', 'gzip', 'zstd', 'xz', 'none']);
    expect(layout.archives[0]!.entries).toBe(5); // ., kernel, kernel/x86, kernel/x86/microcode, the blob
    expect(layout.archives[2]!.entries).toBe(1);
    // boundaries are exact: each archive's bytes decompress on their own with the real tool
    const whole = await readFile(out);
    for (const a of layout.archives.slice(2, 4)) {
      const f = join(work, `part-${a.index}`);
      await writeFile(f, whole.subarray(a.offset, a.offset + a.length));
      const dec = a.compression === 'zstd' ? 'zstd -dc' : 'xz -dc';
      expect(await sh(`${dec} < ${f} | cpio -t --quiet`)).toBe('hi.txt');
    }
    expect(layout.archives[1]!.offset).toBeGreaterThan(0);
    expect(layout.archives[1]!.offset).toBeLessThan(base);
    expect(layout.archives[4]!.offset % 4).toBe(0);
  });

  it('rejects what is not an initramfs with a UserError', async () => {
    const f = join(dir, 'junk.img');
    await writeFile(f, 'this is not an initramfs at all');
    await expect(walkInitramfs(f)).rejects.toBeInstanceOf(UserError);
    await writeFile(f, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(50, 9)]));
    await expect(walkInitramfs(f)).rejects.toThrow(/damaged or not an initramfs/);
    await sh(`echo x | bzip2 > ${f}`);
    await expect(walkInitramfs(f)).rejects.toThrow(/bzip2-compressed/);
  });

  it.each([
    ['legacy lz4', [0x02, 0x21, 0x4c, 0x18]],
    ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ])('a %s member its tool cannot decode is damaged data (UserError), never a tool failure', async (name, magic) => {
    const f = join(dir, `damaged-${name.replace(' ', '-')}.img`);
    await writeFile(f, Buffer.concat([Buffer.from(magic), Buffer.from(' garbage garbage'.repeat(8))]));
    // the tool's exit and the cpio reader's end of data race; run it a few times
    for (let i = 0; i < 5; i++) {
      const err = await walkInitramfs(f).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(/damaged or not an initramfs/);
    }
  });
});
