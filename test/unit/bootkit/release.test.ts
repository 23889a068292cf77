// Why: the bootkit reader must find the kernel and initramfs whatever the release calls
// them, verify checksums, and say clearly when an archive is not a bootkit.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { kernelVersionFromName, pickBootkitMembers, readBootkit } from '../../../src/bootkit/release.js';
import { parseSha256Sums, sha256Text } from '../../../src/io/hash.js';
import { UserError, VerificationError } from '../../../src/errors.js';

describe('pickBootkitMembers', () => {
  it('finds versioned names, also in a subdirectory', () => {
    expect(pickBootkitMembers(['out/', 'out/vmlinuz-6.12.x.emt26', 'out/initramfs-6.12.x.emt26.img'])).toEqual({
      kernel: 'out/vmlinuz-6.12.x.emt26',
      initramfs: 'out/initramfs-6.12.x.emt26.img',
    });
    expect(kernelVersionFromName('vmlinuz-6.12.x.emt26')).toBe('6.12.x.emt26');
  });
  it('ignores signatures and checksums beside the payload', () => {
    const members = [
      'vmlinuz-6.12.8-emt',
      'vmlinuz-6.12.8-emt.sig',
      'vmlinuz-6.12.8-emt.sha256sum',
      'initramfs-6.12.8-emt.img',
      'initramfs-6.12.8-emt.img.asc',
      'initramfs-6.12.8-emt.img.sha256sum',
      'initramfs-6.12.8-emt.img.sig',
    ];
    expect(pickBootkitMembers(members)).toEqual({
      kernel: 'vmlinuz-6.12.8-emt',
      initramfs: 'initramfs-6.12.8-emt.img',
    });
  });
  it.each([
    ['initrd.img-6.1.0-amd64', '6.1.0-amd64'],
    ['initrd', 'unknown'],
    ['initramfs.img', 'unknown'],
    ['initrd-6.12.8.img', '6.12.8'],
    ['initramfs_emt.cpio.zst', 'unknown'],
  ])('accepts the initramfs name %s (version %s)', (name, version) => {
    expect(pickBootkitMembers(['boot/vmlinuz', `boot/${name}`]).initramfs).toBe(`boot/${name}`);
    expect(kernelVersionFromName(name)).toBe(version);
  });
  it('names the answers keys that exist, not command-line flags', () => {
    const msg = (m: string[]) => {
      try {
        pickBootkitMembers(m);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(msg(['README', 'vmlinuz-1.sig'])).toBe(
      'not a bootkit release: it holds no kernel (vmlinuz-*) and no initramfs (initramfs-*, initrd*); give the release tar.gz (answers key bootkit.archive), or the two files (bootkit.kernel and bootkit.initramfs)',
    );
    expect(msg(['vmlinuz-1', 'initrd.img-1', 'initramfs-1.img'])).toMatch(
      /several .*\(vmlinuz-1, initrd\.img-1, initramfs-1\.img\); give the two files in the answers instead \(bootkit\.kernel and bootkit\.initramfs\)$/,
    );
    expect(msg(['vmlinuz-1'])).not.toMatch(/--kernel|--initramfs/);
  });
  it('says what is missing', () => {
    expect(() => pickBootkitMembers(['vmlinuz-1'])).toThrow(/no an initramfs|no an|initramfs/);
    expect(() => pickBootkitMembers(['README'])).toThrow(UserError);
    expect(() => pickBootkitMembers(['vmlinuz-1', 'vmlinuz-2', 'initramfs-1.img'])).toThrow(/several/);
  });
});

describe('parseSha256Sums', () => {
  const h = 'a'.repeat(64);
  it('reads sha256sum lines and bare digests', () => {
    expect(parseSha256Sums(`${h}  x.tar.gz\n${'b'.repeat(64)} *y\n`, 'y', 'f')).toBe('b'.repeat(64));
    expect(parseSha256Sums(`${h}\n`, 'anything', 'f')).toBe(h);
    expect(() => parseSha256Sums('nope', 'x', 'f')).toThrow(/not a sha256sum file/);
  });
});

/** A kernel needs the bzImage boot header ("HdrS" at 0x202); other members are plain text. */
function contentOf(name: string): Buffer {
  const text = Buffer.from(`content of ${name}`);
  if (!name.startsWith('vmlinuz')) return text;
  const k = Buffer.alloc(0x400);
  k.write('HdrS', 0x202, 'latin1');
  text.copy(k, 0x210);
  return k;
}

describe('readBootkit', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mi-bk-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function release(names: string[]): Promise<string> {
    const src = join(dir, 'src');
    await mkdir(src, { recursive: true });
    for (const n of names) await writeFile(join(src, n), contentOf(n));
    const archive = join(dir, 'rel.tar.gz');
    await execa('tar', ['-czf', archive, '-C', src, ...names]);
    return archive;
  }

  it('extracts kernel and initramfs and checks the sibling .sha256sum', async () => {
    const archive = await release(['vmlinuz-6.1.0-x', 'initramfs-6.1.0-x.img']);
    const { stdout } = await execa('sha256sum', [archive]);
    await writeFile(`${archive}.sha256sum`, `${stdout.split(' ')[0]}  rel.tar.gz\n`);
    const work = join(dir, 'work');
    await mkdir(work);
    const bk = await readBootkit({ archive }, work);
    expect(bk.kernelVersion).toBe('6.1.0-x');
    expect(bk.checkedAgainst).toBe(`${archive}.sha256sum`);
    expect(sha256Text(await (await import('node:fs/promises')).readFile(bk.kernel))).toBe(
      sha256Text(contentOf('vmlinuz-6.1.0-x')),
    );
  });

  it('refuses a release whose kernel is a symbolic link', async () => {
    const src = join(dir, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'initramfs-1.img'), 'x');
    await execa('ln', ['-s', '/nonexistent/kernel', join(src, 'vmlinuz-1')]);
    const archive = join(dir, 'rel.tar.gz');
    await execa('tar', ['-czf', archive, '-C', src, 'vmlinuz-1', 'initramfs-1.img']);
    await expect(readBootkit({ archive }, dir)).rejects.toThrow(/vmlinuz-1 in rel.tar.gz is a symbolic link/);
  });

  it('refuses a kernel without the bzImage boot header', async () => {
    const src = join(dir, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'initramfs-1.img'), 'x');
    await writeFile(join(src, 'vmlinuz-1'), 'not a kernel');
    const archive = join(dir, 'rel.tar.gz');
    await execa('tar', ['-czf', archive, '-C', src, 'vmlinuz-1', 'initramfs-1.img']);
    await expect(readBootkit({ archive }, dir)).rejects.toThrow(/not a Linux bzImage/);
  });

  it('fails on a checksum mismatch, naming expected and actual', async () => {
    const archive = await release(['vmlinuz-1', 'initramfs-1.img']);
    await expect(readBootkit({ archive }, dir, 'c'.repeat(64))).rejects.toThrow(VerificationError);
  });

  it('says a tarball without a kernel is not a bootkit', async () => {
    const archive = await release(['notes.txt']);
    await expect(readBootkit({ archive }, dir)).rejects.toThrow(/not a bootkit release/);
  });

  it('says a non-archive is not a tar archive', async () => {
    const archive = join(dir, 'x.tar.gz');
    await writeFile(archive, 'garbage');
    await expect(readBootkit({ archive }, dir)).rejects.toThrow(/not a readable tar archive/);
  });

  it('says a missing file does not exist', async () => {
    await expect(readBootkit({ archive: join(dir, 'nope.tar.gz') }, dir)).rejects.toThrow(/does not exist/);
  });
});
