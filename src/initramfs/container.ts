// Why: an initramfs file is a chain of archives (often an uncompressed microcode cpio, then
// the compressed main one, zero padding between); this walks the chain in one streaming
// pass, finds where each archive starts and ends, and shows every entry to a visitor.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { MakeIsoError, ToolError, UserError } from '../errors.js';
import { ByteReader } from '../io/byte-reader.js';
import type { ProgressSink } from '../progress.js';
import { decodeMember, detectCompression, type Compression } from './compression.js';
import { readCpio, type CpioEntry } from './cpio.js';

export interface ArchiveInfo {
  /** 0-based position in the chain. */
  index: number;
  /** Byte offset of the archive in the initramfs file. */
  offset: number;
  /** Length in the file (compressed bytes; for 'none', through the trailer and its padding). */
  length: number;
  compression: Compression;
  /** Entries, not counting trailers. */
  entries: number;
}

export interface InitramfsLayout {
  path: string;
  size: number;
  archives: ArchiveInfo[];
}

export type ArchiveRef = Pick<ArchiveInfo, 'index' | 'offset' | 'compression'>;

/** Sees each entry; may read its data (unread data is skipped). */
export type EntryVisitor = (archive: ArchiveRef, entry: CpioEntry) => Promise<void> | void;

export interface WalkOptions {
  signal?: AbortSignal;
  progress?: ProgressSink;
  /** Progress step name. */
  step?: string;
}

/** Counts and skips zero bytes between archives. */
async function skipZeros(reader: ByteReader): Promise<void> {
  for (;;) {
    const head = await reader.peek(1 << 16);
    let n = 0;
    while (n < head.length && head[n] === 0) n++;
    if (n === 0) return;
    await reader.skip(n);
  }
}

/** Visits every entry of every archive; returns the layout. */
export async function walkInitramfs(
  path: string,
  visit?: EntryVisitor,
  opts: WalkOptions = {},
): Promise<InitramfsLayout> {
  const size = (await stat(path)).size;
  const step = opts.step ?? 'read-initramfs';
  const progress = opts.progress;
  const src = createReadStream(path, { highWaterMark: 1 << 20, ...(opts.signal ? { signal: opts.signal } : {}) });
  const reader = new ByteReader(src);
  const archives: ArchiveInfo[] = [];
  let where = `${path}`;
  let lastReport = 0;
  progress?.({ step, kind: 'start', done: 0, total: size, message: `reading ${path}` });
  try {
    for (;;) {
      await skipZeros(reader);
      if (await reader.atEnd()) break;
      const offset = reader.position;
      const index = archives.length;
      where = `archive ${index + 1} (at byte ${offset}) of ${path}`;
      const compression = detectCompression(await reader.peek(8), where);
      const ref: ArchiveRef = { index, offset, compression };
      let entries = 0;
      const records =
        compression === 'none'
          ? readCpio(reader, { stopAtTrailer: true })
          : readCpio(new ByteReader(decodeMember(reader, compression, opts.signal ? { signal: opts.signal } : {})));
      for await (const r of records) {
        if (r.kind !== 'entry' || r.isTrailer) continue;
        entries++;
        if (visit) await visit(ref, r);
        if (progress && reader.position - lastReport >= 16 << 20) {
          lastReport = reader.position;
          progress({ step, kind: 'progress', done: reader.position, total: size });
        }
      }
      archives.push({ ...ref, length: reader.position - offset, entries });
    }
  } catch (err) {
    // a decompressor (xz, lz4, zstd) that fails on the data says the data is damaged; which of it
    // and the cpio reader fails first is a race, so both must give the same bad-input error
    if (err instanceof MakeIsoError && !(err instanceof ToolError)) throw err;
    if ((err as { name?: string }).name === 'AbortError') throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new UserError(
      `${where} is damaged or not an initramfs: ${msg}. Check the bootkit download against its .sha256sum.`,
      { cause: err },
    );
  } finally {
    src.destroy();
  }
  if (archives.length === 0) throw new UserError(`${path} is empty or all zeros; it is not an initramfs.`);
  progress?.({ step, kind: 'end', done: size, total: size });
  return { path, size, archives };
}

/** Only the layout (every archive is still decompressed once to find where it ends). */
export function readInitramfsLayout(path: string, opts: WalkOptions = {}): Promise<InitramfsLayout> {
  return walkInitramfs(path, undefined, opts);
}
