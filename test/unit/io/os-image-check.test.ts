// Why: the OS image check reads only the head of the gzip; a small image that is mostly zeros
// (the test fixture: 160 KB that inflate to 90 MiB) must pass, and damaged data must not.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { checkOsImage } from '../../../src/io/os-image-check.js';

const dir = mkdtempSync(join(tmpdir(), 'make-iso-os-image-check-'));

function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A disk of `mib` MiB whose only content is a GPT header signature at 512 bytes. */
function gptDisk(mib: number): Buffer {
  const disk = Buffer.alloc(mib * 1024 * 1024);
  disk.write('EFI PART', 512, 'latin1');
  return disk;
}

describe('checkOsImage', () => {
  it('accepts a tiny gzip that inflates to more than 64 MiB (mostly zeros)', async () => {
    const gz = gzipSync(gptDisk(90));
    expect(gz.length).toBeLessThan(256 * 1024); // the whole file fits in the head the check reads
    await expect(checkOsImage(file('zeros.raw.gz', gz))).resolves.toBeUndefined();
  });

  it('refuses gzip of something that is not a GPT disk', async () => {
    const gz = gzipSync(Buffer.alloc(4096, 7));
    await expect(checkOsImage(file('not-gpt.raw.gz', gz))).rejects.toThrow(/does not hold a GPT disk/);
  });

  it('refuses a gzip whose deflate data is damaged', async () => {
    const gz = gzipSync(gptDisk(1));
    gz.fill(0xff, 10, 40);
    const err = await checkOsImage(file('damaged.raw.gz', gz)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/corrupt gzip data|does not hold a GPT disk/);
  });
});
