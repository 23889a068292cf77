// Why: the OS image check reads only the head and the trailer; a valid small image whose whole
// gzip stream fits in the head but inflates to more than the inflate cap (the e2e fixture's
// 160 KB image of a ~100 MiB disk) was refused as "corrupt gzip data".
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkOsImage } from '../../../src/io/os-image-check.js';

const MiB = 1024 * 1024;

/** A raw disk of `size` bytes with a GPT header signature at LBA 1, else zeros. */
function disk(size: number): Buffer {
  const d = Buffer.alloc(size);
  d.write('EFI PART', 512, 'latin1');
  return d;
}

function file(name: string, bytes: Buffer): string {
  const p = join(mkdtempSync(join(tmpdir(), 'mi-osimg-')), name);
  writeFileSync(p, bytes);
  return p;
}

describe('checkOsImage', () => {
  it('accepts a small gzip of a large disk (whole stream inside the head, inflating past 64 MiB)', async () => {
    const gz = gzipSync(disk(100 * MiB), { level: 9 });
    expect(gz.length).toBeLessThan(256 * 1024);
    await expect(checkOsImage(file('big.raw.gz', gz))).resolves.toBeUndefined();
  });

  it('refuses gzip data that is not a GPT disk', async () => {
    await expect(checkOsImage(file('x.raw.gz', gzipSync(Buffer.alloc(4096, 7))))).rejects.toThrow(
      /does not hold a GPT/,
    );
  });

  it('refuses a cut-off image', async () => {
    const gz = gzipSync(Buffer.concat([disk(MiB), Buffer.from('tail')]));
    await expect(checkOsImage(file('cut.raw.gz', gz.subarray(0, gz.length - 3)))).rejects.toThrow(
      /truncated or corrupt/,
    );
  });
});
