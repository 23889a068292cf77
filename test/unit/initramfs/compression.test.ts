// Why: a member decoder must stop exactly at its member's last byte whatever the chunking,
// or the next archive of the chain is lost or misread.
import { describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { execa } from 'execa';
import { ByteReader } from '../../../src/io/byte-reader.js';
import { decodeMember, detectCompression, xzStreamEndFinder } from '../../../src/initramfs/compression.js';
import { UserError } from '../../../src/errors.js';

async function* chunked(buf: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield buf.subarray(off, off + n);
    off += n;
  }
}

async function decodeThenRest(
  data: Buffer,
  c: 'gzip' | 'zstd' | 'xz',
  sizes: number[],
  zstdTool = false,
): Promise<{ out: Buffer; rest: Buffer; at: number }> {
  const reader = new ByteReader(chunked(data, sizes));
  const parts: Buffer[] = [];
  for await (const p of decodeMember(reader, c, { zstdTool })) parts.push(p);
  const at = reader.position;
  const rest: Buffer[] = [];
  for (let x = await reader.nextChunk(); x; x = await reader.nextChunk()) rest.push(x);
  return { out: Buffer.concat(parts), rest: Buffer.concat(rest), at };
}

/** Deterministic noise (xorshift32): the same seed gives the same bytes on every run, so a failure reproduces. */
function noise(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Incompressible bytes then a long run: literals, a long match, and (for zstd) room for RLE blocks. */
const payloadFor = (seed: number): Buffer => Buffer.concat([noise(seed, 20000), Buffer.alloc(30000, 'a')]);
const SEEDS = [1, 2, 3, 0xdecaf, 0x5eed, 0xc0ffee, 123456789, 0x7fffffff];
const payload = payloadFor(SEEDS[0]!);
const tail = Buffer.from('070701-next-archive');

describe('decodeMember', () => {
  it.each(SEEDS)('gzip and zstd: stops at the member end for every chunking (seed %i)', async (seed) => {
    const input = payloadFor(seed);
    const members = {
      gzip: zlib.gzipSync(input),
      zstd: (await execa('zstd', ['-q', '-c'], { input, encoding: 'buffer' })).stdout as Uint8Array,
    };
    for (const [c, m] of Object.entries(members) as Array<['gzip' | 'zstd', Uint8Array]>) {
      const member = Buffer.from(m);
      const data = Buffer.concat([member, tail]);
      const deflateEnd = c === 'gzip' ? member.length - 8 : member.length;
      // chunk boundaries right at, before and after the end of the compressed data, inside the
      // trailer/checksum, and a seeded irregular chunking
      const irregular = Array.from(noise(seed ^ 0x9e3779b9, 7), (b) => 1 + b * 11);
      const splits = [
        [13],
        [4096],
        [deflateEnd],
        [deflateEnd - 1, 1],
        [deflateEnd - 2, 1, 1],
        [deflateEnd - 3, 2],
        [deflateEnd + 1],
        [member.length],
        irregular,
      ];
      for (const sizes of splits) {
        const r = await decodeThenRest(data, c, sizes);
        expect(r.out.equals(input), `${c} ${sizes.join(',')}`).toBe(true);
        expect(r.at, `${c} ${sizes.join(',')}`).toBe(member.length);
        expect(r.rest.equals(tail), `${c} ${sizes.join(',')}`).toBe(true);
      }
      if (c === 'zstd') {
        const r = await decodeThenRest(data, c, [member.length], true); // the zstd tool path
        expect(r.out.equals(input)).toBe(true);
        expect(r.rest.equals(tail)).toBe(true);
      }
    }
  });

  // zlib.zstdCompressSync arrived in Node 22.15 (the decoder falls back to the zstd tool before that)
  it.skipIf(typeof zlib.zstdCompressSync !== 'function')(
    'zstd: walks every frame shape (raw, RLE and compressed blocks, with and without size or checksum)',
    async () => {
      const P = zlib.constants;
      const noiseBytes = noise(0xfeed, 140000); // > 128 KiB: two raw blocks
      const shapes: Array<[string, Buffer, Record<number, number>]> = [
        ['compressed, single segment, 2-byte size', payload, {}],
        ['with checksum', payload, { [P.ZSTD_c_checksumFlag]: 1 }],
        ['no content size (window descriptor)', payload, { [P.ZSTD_c_contentSizeFlag]: 0, [P.ZSTD_c_checksumFlag]: 1 }],
        ['RLE blocks', Buffer.alloc(300000, 'a'), { [P.ZSTD_c_checksumFlag]: 1 }],
        ['raw blocks', noiseBytes, { [P.ZSTD_c_checksumFlag]: 1 }],
        ['raw, RLE and compressed', Buffer.concat([noiseBytes, Buffer.alloc(200000, 'b'), payload]), {}],
        ['empty (a zero-size raw block)', Buffer.alloc(0), {}],
        ['one byte, no size', Buffer.from('x'), { [P.ZSTD_c_contentSizeFlag]: 0 }],
      ];
      for (const [what, input, params] of shapes) {
        const member = zlib.zstdCompressSync(input, { params });
        const data = Buffer.concat([member, tail]);
        const n = member.length;
        for (const sizes of [[4096], [n], [n - 1, 1], [n - 4, 4], [n + 1], [3, 5, 7, 11, 4099]]) {
          const r = await decodeThenRest(data, 'zstd', sizes);
          expect(r.out.equals(input), `${what} ${sizes.join(',')}`).toBe(true);
          expect(r.at, `${what} ${sizes.join(',')}`).toBe(n);
          expect(r.rest.equals(tail), `${what} ${sizes.join(',')}`).toBe(true);
        }
      }
    },
  );

  it('xz: finds the stream footer across chunk boundaries', async () => {
    const member = Buffer.from(
      (await execa('xz', ['-c', '--check=crc32'], { input: payload, encoding: 'buffer' })).stdout as Uint8Array,
    );
    const data = Buffer.concat([member, Buffer.alloc(8), tail]);
    for (const sizes of [[5], [member.length - 6, 100], [member.length], [65536]]) {
      const r = await decodeThenRest(data, 'xz', sizes);
      expect(r.out.equals(payload)).toBe(true);
      expect(r.at).toBe(member.length);
    }
    // the finder alone, one byte at a time
    const find = xzStreamEndFinder();
    let end = -1;
    for (let i = 0; i < data.length && end < 0; i++) if (find(data.subarray(i, i + 1)) === 1) end = i + 1;
    expect(end).toBe(member.length);
  });

  it('reports corrupt data and unsupported formats', async () => {
    const bad = zlib.gzipSync(payload);
    bad[bad.length - 6] = bad[bad.length - 6]! ^ 0xff; // the CRC
    await expect(decodeThenRest(bad, 'gzip', [1000])).rejects.toThrow(/corrupt/);
    expect(() => detectCompression(Buffer.from('BZh91AY'), 'x')).toThrow(UserError);
    expect(detectCompression(Buffer.from('070701'), 'x')).toBe('none');
  });
});
