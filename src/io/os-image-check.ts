// Why: an OS image is a gzip'ed GPT disk. Refuse anything else before building (an empty file,
// random bytes or a truncated download named *.raw.gz used to give an ISO that fails on the node),
// cheaply: the gzip header, the first sectors inflated, and the gzip trailer's size field.
import { open } from 'node:fs/promises';
import { inflateRawSync, constants as zc } from 'node:zlib';
import { UserError } from '../errors.js';

const GZIP_MAGIC = [0x1f, 0x8b, 0x08];
/** Enough compressed bytes to inflate the MBR and the GPT header of any real image. */
const HEAD_BYTES = 256 * 1024;
/**
 * At most this much deflate data is inflated: deflate expands at most 1032:1, so the output stays
 * under maxOutputLength whatever the image (a small image whose whole stream fits in HEAD_BYTES
 * would otherwise inflate in full and overflow it).
 */
const INFLATE_INPUT_BYTES = 32 * 1024;

/** Offset of the deflate data after a gzip member header (RFC 1952), or undefined. */
export function gzipDataOffset(head: Buffer): number | undefined {
  if (head.length < 10 || GZIP_MAGIC.some((b, i) => head[i] !== b)) return undefined;
  const flags = head[3] ?? 0;
  let at = 10;
  if (flags & 0x04) at += 2 + head.readUInt16LE(at); // FEXTRA
  for (const bit of [0x08, 0x10]) {
    // FNAME, FCOMMENT: zero-terminated
    if (flags & bit) {
      const end = head.indexOf(0, at);
      if (end < 0) return undefined;
      at = end + 1;
    }
  }
  if (flags & 0x02) at += 2; // FHCRC
  return at <= head.length ? at : undefined;
}

/** Checks the OS image without reading it whole; throws a UserError saying what is wrong. */
export async function checkOsImage(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const fix = 'give the gzip-compressed raw disk image (*.raw.gz) of the release';
    if (size < 18) throw new UserError(`the OS image ${path} is ${size === 0 ? 'empty' : 'too small'}; ${fix}`);
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    await fh.read(head, 0, head.length, 0);
    const at = gzipDataOffset(head);
    if (at === undefined) throw new UserError(`the OS image ${path} is not gzip data; ${fix}`);
    let disk: Buffer;
    try {
      disk = inflateRawSync(head.subarray(at, at + INFLATE_INPUT_BYTES), {
        finishFlush: zc.Z_SYNC_FLUSH,
        maxOutputLength: 64 * 1024 * 1024,
      });
    } catch {
      throw new UserError(`the OS image ${path} is corrupt gzip data (it does not inflate); download it again`);
    }
    const truncated = new UserError(
      `the OS image ${path} is truncated or corrupt (its gzip trailer is not a disk size); download it again`,
    );
    const trailer = Buffer.alloc(8);
    await fh.read(trailer, 0, 8, size - 8);
    const isize = trailer.readUInt32LE(4);
    // the whole file was inflated and gave less than its trailer says: the stream was cut off
    if (disk.length < 520 && size <= at + INFLATE_INPUT_BYTES && isize !== disk.length) throw truncated;
    if (disk.length < 520 || disk.subarray(512, 520).toString('latin1') !== 'EFI PART') {
      throw new UserError(`the OS image ${path} does not hold a GPT disk (no "EFI PART" header at 512 bytes); ${fix}`);
    }
    // the trailer's ISIZE is the disk size mod 2^32: a disk is whole sectors, a cut-off file is not
    // (a file cut inside a run of zeros ends in zero bytes: CRC32 and ISIZE both 0 is never real)
    if (isize % 512 !== 0 || trailer.every((b) => b === 0)) throw truncated;
  } finally {
    await fh.close();
  }
}
