// Why: an initramfs is a chain of archives, each compressed its own way; this module tells
// them apart by magic, decompresses exactly one member (stopping at its last byte so the
// next archive can be found), and recompresses with the same method for the rewrite mode.
import zlib from 'node:zlib';
import { Duplex, PassThrough, type Writable } from 'node:stream';
import { UserError } from '../errors.js';
import { hasTool } from '../exec.js';
import type { ByteReader } from '../io/byte-reader.js';
import { toolFilter, type ToolFilter } from '../io/tool-stream.js';

/** Compression of one archive in an initramfs ('none' is a plain newc cpio). */
export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'lz4';

const MAGICS: ReadonlyArray<[Compression | 'bzip2' | 'lzma' | 'lzo', number[]]> = [
  ['none', [0x30, 0x37, 0x30, 0x37, 0x30]], // "07070" (newc 070701 / crc 070702)
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]], // legacy frame, what the kernel and dracut use
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lzma', [0x5d, 0x00, 0x00]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f]],
];

/** Which compression starts at these bytes; throws a UserError for methods we cannot handle. */
export function detectCompression(head: Buffer, where: string): Compression {
  for (const [name, magic] of MAGICS) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) {
      if (name === 'bzip2' || name === 'lzma' || name === 'lzo') {
        throw new UserError(
          `${where} is ${name}-compressed, which make-iso does not support; rebuild the initramfs with gzip, zstd or xz (dracut --gzip).`,
        );
      }
      return name;
    }
  }
  const hex = head.subarray(0, 8).toString('hex');
  throw new UserError(
    `${where} is neither a cpio archive nor gzip/zstd/xz/lz4 data (starts with ${hex}); check that this file is an initramfs.`,
  );
}

/**
 * Feeds raw inflate one chunk at a time and stops as soon as the deflate stream is complete:
 * zlib counts the input it consumed (`bytesWritten`), so the unread tail of the last chunk
 * is handed back to the reader for the next archive. (Deflate has no length field to walk.)
 */
async function* zlibMember(reader: ByteReader, z: zlib.InflateRaw): AsyncGenerator<Buffer> {
  let fed = 0;
  let last: Buffer | null = null;
  const write = (c: Buffer): Promise<void> =>
    new Promise((resolve, reject) => z.write(c, (err) => (err ? reject(err) : resolve())));
  const feeder = (async () => {
    for (;;) {
      const c = await reader.nextChunk(1 << 20);
      if (!c) {
        z.end();
        return;
      }
      last = c;
      fed += c.length;
      await write(c);
      if (z.bytesWritten < fed) return; // the member ended inside this chunk
    }
  })();
  let feederError: unknown;
  feeder.catch((err: unknown) => {
    feederError = err;
  });
  let ok = false;
  try {
    for await (const out of z) yield out as Buffer;
    await feeder;
    ok = true;
  } finally {
    if (!ok) z.destroy();
  }
  if (feederError) throw feederError;
  const left = fed - z.bytesWritten;
  if (left > 0 && last) reader.unshift((last as Buffer).subarray((last as Buffer).length - left));
}

async function skipCString(reader: ByteReader): Promise<void> {
  for (;;) {
    const b = await reader.readExact(1, 'gzip header');
    if (b[0] === 0) return;
  }
}

/** One gzip member (RFC 1952): header parsed here, raw inflate, CRC32 and size checked. */
async function* gunzipMember(reader: ByteReader): AsyncGenerator<Buffer> {
  const h = await reader.readExact(10, 'gzip header');
  if (h[0] !== 0x1f || h[1] !== 0x8b || h[2] !== 8) throw new Error('not a gzip (deflate) member');
  const flg = h[3]!;
  if (flg & 4) await reader.skip((await reader.readExact(2, 'gzip header')).readUInt16LE(0), 'gzip header');
  if (flg & 8) await skipCString(reader);
  if (flg & 16) await skipCString(reader);
  if (flg & 2) await reader.skip(2, 'gzip header');
  let crc = 0;
  let size = 0;
  for await (const c of zlibMember(reader, zlib.createInflateRaw({ chunkSize: 1 << 18 }))) {
    crc = zlib.crc32(c, crc);
    size += c.length;
    yield c;
  }
  const t = await reader.readExact(8, 'gzip trailer');
  if (t.readUInt32LE(0) !== crc >>> 0 || t.readUInt32LE(4) !== size % 2 ** 32) {
    throw new Error('gzip data is corrupt (CRC or length mismatch)');
  }
}

/**
 * Finds the end of one xz stream while its bytes go by: the 12-byte stream footer sits at a
 * 4-byte aligned offset, ends in "YZ", repeats the header's stream flags and carries a CRC32
 * of its own middle 6 bytes. Returns, per chunk, the index just past the footer, or -1.
 */
export function xzStreamEndFinder(): (chunk: Buffer) => number {
  let seen = 0; // bytes of the stream before the current chunk
  let carry = Buffer.alloc(0);
  let flags: Buffer | null = null;
  return (chunk) => {
    const win = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const base = seen - carry.length; // stream offset of win[0]
    if (!flags && base === 0 && win.length >= 8) flags = Buffer.from(win.subarray(6, 8));
    if (flags) {
      let f = (4 - (base % 4)) % 4;
      for (; f + 12 <= win.length; f += 4) {
        if (base + f < 24) continue; // header (12) + smallest index and footer
        if (win[f + 10] !== 0x59 || win[f + 11] !== 0x5a) continue;
        if (win[f + 8] !== flags[0] || win[f + 9] !== flags[1]) continue;
        if (zlib.crc32(win.subarray(f + 4, f + 10)) !== win.readUInt32LE(f)) continue;
        return f + 12 - carry.length;
      }
    }
    carry = Buffer.from(win.subarray(Math.max(0, win.length - 11)));
    seen += chunk.length;
    return -1;
  };
}

/**
 * Runs bytes through a decoder (a zlib stream, or a tool's stdin/stdout) and yields its
 * output; the source decides where the member ends, so the decoder never sees the next one.
 */
async function* through(
  source: AsyncIterable<Buffer>,
  stdin: Writable,
  stdout: AsyncIterable<unknown>,
  tool?: ToolFilter,
): AsyncGenerator<Buffer> {
  const write = (c: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      stdin.write(c, (err) => (err ? reject(err) : resolve()));
    });
  const feeder = (async () => {
    for await (const c of source) await write(c);
    stdin.end();
  })();
  let feederError: unknown;
  feeder.catch((err: unknown) => {
    feederError = err;
    // Unblock the reader below: a decoder that waits for more input never ends otherwise.
    if (tool) tool.kill();
    else stdin.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  let ok = false;
  try {
    try {
      for await (const out of stdout) yield out as Buffer;
    } catch (err) {
      // kill() above destroys the tool's pipes ("Premature close"): the feeder's error is the cause.
      throw feederError ?? err;
    }
    await feeder.catch(() => {});
    if (feederError) throw feederError;
    if (tool) await tool.done;
    ok = true;
  } finally {
    if (!ok) {
      if (tool) tool.kill();
      else stdin.destroy();
    }
  }
}

/**
 * The bytes of one zstd frame (RFC 8878), read structurally: header, then blocks by their
 * 3-byte headers until the last one, then the optional checksum. Nothing past it is read.
 */
export async function* zstdFrameBytes(reader: ByteReader): AsyncGenerator<Buffer> {
  const head = await reader.readExact(5, 'zstd frame header');
  if (head.readUInt32LE(0) !== 0xfd2fb528) throw new Error('not a zstd frame');
  const fhd = head[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const didLen = [0, 1, 2, 4][fhd & 3]!;
  const fcsLen = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  yield head;
  yield await reader.readExact((single ? 0 : 1) + didLen + fcsLen, 'zstd frame header');
  for (let last = false; !last;) {
    const bh = await reader.readExact(3, 'zstd block header');
    const v = bh[0]! | (bh[1]! << 8) | (bh[2]! << 16);
    last = (v & 1) === 1;
    const type = (v >> 1) & 3;
    if (type === 3) throw new Error('zstd data is corrupt (reserved block type)');
    yield bh;
    yield* reader.chunks(type === 1 ? 1 : v >>> 3, 'zstd block');
  }
  if (checksum) yield await reader.readExact(4, 'zstd checksum');
}

/** The bytes of one xz stream, up to and including its footer (see xzStreamEndFinder). */
async function* xzStreamBytes(reader: ByteReader): AsyncGenerator<Buffer> {
  const find = xzStreamEndFinder();
  for (let c = await reader.nextChunk(1 << 20); c; c = await reader.nextChunk(1 << 20)) {
    const end = find(c);
    if (end >= 0) {
      reader.unshift(c.subarray(end));
      yield c.subarray(0, end);
      return;
    }
    yield c;
  }
  throw new Error('unexpected end of data inside an xz stream');
}

/** Everything left: the legacy lz4 format has no end marker, so it can only be the last archive. */
async function* restBytes(reader: ByteReader): AsyncGenerator<Buffer> {
  for (let c = await reader.nextChunk(1 << 20); c; c = await reader.nextChunk(1 << 20)) yield c;
}

function toolThrough(source: AsyncIterable<Buffer>, file: string, args: string[], signal?: AbortSignal) {
  const t = toolFilter(file, args, signal);
  return through(source, t.stdin, t.stdout, t);
}

/**
 * Decompresses exactly one archive member starting at the reader's position and leaves the
 * reader just past it. 'none' is not handled here (the cpio parser reads it directly).
 */
export function decodeMember(
  reader: ByteReader,
  c: Exclude<Compression, 'none'>,
  opts: { signal?: AbortSignal; zstdTool?: boolean } = {},
): AsyncGenerator<Buffer> {
  const signal = opts.signal;
  switch (c) {
    case 'gzip':
      return gunzipMember(reader);
    case 'zstd': {
      // Node >= 22.15 decodes zstd in-process; older ones use the zstd tool.
      if (typeof zlib.createZstdDecompress === 'function' && !opts.zstdTool) {
        const z = zlib.createZstdDecompress();
        return through(zstdFrameBytes(reader), z, z);
      }
      return toolThrough(zstdFrameBytes(reader), 'zstd', ['-dcq'], signal);
    }
    case 'xz':
      return toolThrough(xzStreamBytes(reader), 'xz', ['-dc', '--single-stream'], signal);
    case 'lz4':
      return toolThrough(restBytes(reader), 'lz4', ['-dc'], signal);
  }
}

export interface EncoderOptions {
  level?: number;
  /** gzip only: 'pigz' (parallel, through the exec door), 'node' (zlib), 'auto' (pigz when installed). */
  gzip?: 'auto' | 'pigz' | 'node';
  signal?: AbortSignal;
}

/** Default levels: a balance of size and time for data that compresses. */
export const DEFAULT_LEVEL: Record<Compression, number> = { none: 0, gzip: 6, zstd: 3, xz: 6, lz4: 9 };

/**
 * Levels for an initramfs archive that is mostly an already-compressed rootfs.tar.gz: higher
 * levels cost much time for no gain (zstd -15 took 38 s on a 56 MB fixture, -3 about 1 s).
 */
export const FAST_LEVEL: Record<Compression, number> = { none: 0, gzip: 1, zstd: 3, xz: 1, lz4: 1 };

export interface Encoder {
  stream: Duplex;
  /** The tool behind the stream, to be awaited with settleWithTools. */
  tool?: ToolFilter;
}

let pigzPresent: Promise<boolean> | undefined;

/**
 * A deterministic compressor: no file name, no timestamp, fixed thread layout, so the same
 * input gives the same bytes on every run on the same host.
 */
export async function encoder(c: Compression, opts: EncoderOptions = {}): Promise<Encoder> {
  const level = opts.level ?? DEFAULT_LEVEL[c];
  const filter = (file: string, args: string[]): Encoder => {
    const tool = toolFilter(file, args, opts.signal);
    return { stream: duplexOf(tool), tool };
  };
  switch (c) {
    case 'none':
      return { stream: new PassThrough() };
    case 'gzip': {
      const mode = opts.gzip ?? 'auto';
      const usePigz = mode === 'pigz' || (mode === 'auto' && (await (pigzPresent ??= hasTool('pigz'))));
      if (usePigz) return filter('pigz', ['-n', `-${level}`, '-c']);
      return { stream: zlib.createGzip({ level, chunkSize: 1 << 18 }) };
    }
    case 'zstd':
      return filter('zstd', ['-q', '-c', `-${level}`, '-T2']);
    case 'xz':
      // What dracut uses: CRC32 (the kernel's decoder has no SHA-256) and a 1 MiB dictionary.
      return filter('xz', ['-c', '-T1', '--check=crc32', `--lzma2=preset=${level},dict=1MiB`]);
    case 'lz4':
      return filter('lz4', ['-l', '-c', `-${level}`]);
  }
}

function duplexOf(t: ToolFilter): Duplex {
  // One pipeline stage: bytes in go to the tool's stdin, bytes out come from its stdout.
  const d = Duplex.from({ writable: t.stdin, readable: t.stdout });
  // Duplex.from stops passing destroy() on once one side is done: a pipeline aborted after the
  // tool's stdin ended would leave its stdout paused with unread output, and the tool's
  // `done` (execa waits for stdout to end) would never settle. A stage closed before its
  // output ended was destroyed: stop the tool and drop its pipes.
  d.once('close', () => {
    if (!d.readableEnded) t.kill();
  });
  return d;
}
