// Why: produce the installer's initramfs from the vendor one, in one of two modes: 'overlay'
// (copy it unchanged, append a small archive applied by a dracut hook; fast) or 'rewrite'
// (stream-rewrite rootfs.tar.gz inside it; for bootkits where the hook cannot apply).
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, copyFile, rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { inContext, InterruptedError, UserError } from '../errors.js';
import { ByteReader } from '../io/byte-reader.js';
import { settleWithTools } from '../io/tool-stream.js';
import type { ProgressSink } from '../progress.js';
import { normalizeChange, type RootfsChange } from '../rootfs/change.js';
import { rootfsTarEdit, tarPathKey, transformTar, type RootfsEditReport } from '../rootfs/transform.js';
import { decodeMember, encoder, FAST_LEVEL, type Compression } from './compression.js';
import { type ArchiveInfo, walkInitramfs } from './container.js';
import { cpioDataPadding, cpioHeader, readCpio, S_IFMT, S_IFREG, type CpioEntry } from './cpio.js';
import { buildOverlayArchive, type HookPlacement } from './overlay.js';
import { type DracutLayout, readDracutLayout } from './layout.js';

export type { RootfsChange } from '../rootfs/change.js';

export interface WriteInitramfsOptions {
  mode: 'overlay' | 'rewrite';
  /** Timestamp (seconds) for every entry make-iso adds. */
  mtime: number;
  /**
   * rewrite: gzip level for rootfs.tar.gz (default 1). Measured on a 125 MB rootfs.tar.gz
   * with pigz on 2 cores: -1 takes 7 s and grows it 10%, -6 takes 15 s at the vendor's size.
   */
  level?: number;
  /** rewrite: level for recompressing the archive that holds rootfs.tar.gz (default FAST_LEVEL). */
  outerLevel?: number;
  /** rewrite: gzip with pigz (parallel) or Node's zlib; 'auto' = pigz when installed. */
  gzip?: 'auto' | 'pigz' | 'node';
  /**
   * A scan of the same input (scanBootkitInitramfs's result fits): rewrite then skips its own
   * look for rootfs.tar.gz; overlay checks the chain can take an appended archive, puts the
   * hook where this initramfs's dracut looks and emits only missing parent directories.
   */
  scan?: { archives: ArchiveInfo[]; rootfs?: { archive: number }; hook?: HookPlacement; layout?: DracutLayout };
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export interface WriteInitramfsResult {
  mode: 'overlay' | 'rewrite';
  /** Unit names masked (normalized, sorted): all requested ones, present or not. */
  masked: string[];
  /** Size of the written initramfs. */
  bytes: number;
  /** rewrite only: what the tar transform did. */
  rootfs?: RootfsEditReport;
}

const isRootfs = (e: CpioEntry): boolean => (e.mode & S_IFMT) === S_IFREG && tarPathKey(e.name) === 'rootfs.tar.gz';

/** Writes to `output` through a temp file beside it, renamed at the end, removed on failure. */
async function viaTemp<T>(output: string, fn: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = `${output}.tmp-${process.pid}`;
  try {
    const r = await fn(tmp);
    await rename(tmp, output);
    return r;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function appendRange(
  out: string,
  input: string,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<void> {
  if (end <= start) return;
  await pipeline(
    createReadStream(input, { start, end: end - 1, highWaterMark: 1 << 20 }),
    createWriteStream(out, { flags: 'a' }),
    ...(signal ? [{ signal }] : []),
  );
}

/**
 * Builds the initramfs for the installer ISO. Overlay mode keeps the vendor file byte for
 * byte and appends one archive; rewrite mode keeps every other archive byte for byte and
 * re-emits the one holding rootfs.tar.gz with its original compression.
 */
export async function writeCustomInitramfs(
  input: string,
  output: string,
  change: RootfsChange,
  opts: WriteInitramfsOptions,
): Promise<WriteInitramfsResult> {
  try {
    opts.signal?.throwIfAborted();
    return await write(input, output, change, opts);
  } catch (err) {
    // After an abort, whatever broke (a killed tool, a destroyed stream) is its consequence.
    if (opts.signal?.aborted) throw new InterruptedError('interrupted while writing the initramfs', { cause: err });
    throw err;
  }
}

/** Where the overlay hook goes: from the scan, else read now; refused when the layout is unknown. */
async function hookPlacement(input: string, opts: WriteInitramfsOptions): Promise<HookPlacement> {
  if (opts.scan?.hook) return opts.scan.hook;
  const layout =
    opts.scan?.layout ?? (await readDracutLayout(input, { ...(opts.signal ? { signal: opts.signal } : {}) }));
  if (!layout.recognised) {
    throw new UserError(`the overlay mode cannot hook into ${input}: ${layout.reason}; use mode: rewrite (or auto).`);
  }
  return { path: layout.hookPath, missingDirs: layout.missingDirs };
}

async function write(
  input: string,
  output: string,
  change: RootfsChange,
  opts: WriteInitramfsOptions,
): Promise<WriteInitramfsResult> {
  const norm = normalizeChange(change);
  if (input === output) throw new UserError(`the output initramfs must differ from the input (${input}).`);
  if (opts.mode === 'overlay') {
    return inContext('writing overlay initramfs', () =>
      viaTemp(output, async (tmp) => {
        const last = opts.scan?.archives.at(-1);
        if (last?.compression === 'lz4') {
          throw new UserError(
            `${input} ends with an lz4 archive, which has no end marker, so nothing can be appended; use the rewrite mode.`,
          );
        }
        opts.progress?.({ step: 'write-initramfs', kind: 'start', message: 'copying the vendor initramfs' });
        await copyFile(input, tmp);
        const size = (await stat(tmp)).size;
        // The kernel skips zero bytes between archives; keep the new one 4-byte aligned.
        const overlay = await buildOverlayArchive(norm, opts.mtime, await hookPlacement(input, opts));
        await appendFile(tmp, Buffer.concat([Buffer.alloc((4 - (size % 4)) % 4), overlay]));
        const bytes = (await stat(tmp)).size;
        opts.progress?.({ step: 'write-initramfs', kind: 'end', done: bytes, total: bytes });
        return { mode: 'overlay' as const, masked: norm.mask, bytes };
      }),
    );
  }
  return inContext('rewriting initramfs', () => rewrite(input, output, norm, opts));
}

async function findRootfsArchive(
  input: string,
  opts: WriteInitramfsOptions,
): Promise<{ archives: ArchiveInfo[]; target: number }> {
  if (opts.scan?.rootfs) return { archives: opts.scan.archives, target: opts.scan.rootfs.archive };
  let target = -1;
  const layout = await walkInitramfs(
    input,
    (a, e) => {
      if (isRootfs(e)) target = a.index;
    },
    { step: 'read-initramfs', ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  if (target < 0) throw new UserError(`${input} is not a bootkit initramfs: no rootfs.tar.gz inside.`);
  return { archives: layout.archives, target };
}

async function rewrite(
  input: string,
  output: string,
  norm: ReturnType<typeof normalizeChange>,
  opts: WriteInitramfsOptions,
): Promise<WriteInitramfsResult> {
  const { archives, target } = await findRootfsArchive(input, opts);
  const size = (await stat(input)).size;
  const signal = opts.signal;
  let report: RootfsEditReport | undefined;
  const bytes = await viaTemp(output, async (tmp) => {
    await appendFile(tmp, Buffer.alloc(0), { flag: 'w' });
    let inPos = 0;
    let outPos = 0;
    for (const a of archives) {
      // zero padding before the archive, as it was
      await appendRange(tmp, input, inPos, a.offset, signal);
      outPos += a.offset - inPos;
      if (a.compression === 'none' && outPos % 4 !== 0) {
        // an uncompressed archive must start 4-byte aligned (the kernel checks)
        await appendFile(tmp, Buffer.alloc(4 - (outPos % 4)));
      }
      if (a.index !== target) await appendRange(tmp, input, a.offset, a.offset + a.length, signal);
      else report = await rewriteArchive(input, a, tmp, norm, opts);
      outPos = (await stat(tmp)).size;
      inPos = a.offset + a.length;
    }
    await appendRange(tmp, input, inPos, size, signal);
    return (await stat(tmp)).size;
  });
  return { mode: 'rewrite', masked: norm.mask, bytes, ...(report ? { rootfs: report } : {}) };
}

/** Re-emits one archive with rootfs.tar.gz rewritten and the same compression. */
async function rewriteArchive(
  input: string,
  a: ArchiveInfo,
  out: string,
  norm: ReturnType<typeof normalizeChange>,
  opts: WriteInitramfsOptions,
): Promise<RootfsEditReport> {
  const signal = opts.signal;
  const tarTmp = `${out}.rootfs-${process.pid}`;
  const edit = rootfsTarEdit(norm, opts.mtime);
  let seen = false;
  const progress = opts.progress;
  async function* records(): AsyncGenerator<Buffer> {
    const reader = new ByteReader(
      createReadStream(input, { start: a.offset, end: a.offset + a.length - 1, highWaterMark: 1 << 20 }),
    );
    const recs =
      a.compression === 'none'
        ? readCpio(reader, { stopAtTrailer: true })
        : readCpio(new ByteReader(decodeMember(reader, a.compression, signal ? { signal } : {})));
    for await (const r of recs) {
      if (r.kind === 'padding') yield r.bytes;
      else if (!isRootfs(r)) yield* r.raw();
      else {
        seen = true;
        const size = await rewriteRootfs(r, tarTmp, edit, opts, progress);
        yield cpioHeader({ ...r, filesize: size });
        yield* createReadStream(tarTmp, { highWaterMark: 1 << 20 });
        yield cpioDataPadding(size);
        await rm(tarTmp, { force: true });
      }
    }
  }
  const c: Compression = a.compression;
  const enc = await encoder(c, {
    level: opts.outerLevel ?? FAST_LEVEL[c],
    gzip: opts.gzip ?? 'auto',
    ...(signal ? { signal } : {}),
  });
  try {
    await settleWithTools(
      pipeline(records, enc.stream, createWriteStream(out, { flags: 'a' }), ...(signal ? [{ signal }] : [])),
      enc.tool ? [enc.tool] : [],
    );
  } finally {
    await rm(tarTmp, { force: true });
  }
  if (!seen) throw new Error(`rootfs.tar.gz was not found again in archive ${a.index + 1}`);
  return edit.report;
}

/** gunzip -> tar transform -> gzip, into a temp file (its size goes into the cpio header). */
async function rewriteRootfs(
  entry: CpioEntry,
  tarTmp: string,
  edit: Parameters<typeof transformTar>[1],
  opts: WriteInitramfsOptions,
  progress?: ProgressSink,
): Promise<number> {
  const total = entry.filesize;
  let done = 0;
  let lastReport = 0;
  progress?.({ step: 'rewrite-rootfs', kind: 'start', done: 0, total, message: 'rewriting rootfs.tar.gz' });
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const c of entry.data()) {
      done += c.length;
      if (progress && done - lastReport >= 8 << 20) {
        lastReport = done;
        progress({ step: 'rewrite-rootfs', kind: 'progress', done, total });
      }
      yield c;
    }
  }
  const enc = await encoder('gzip', {
    level: opts.level ?? 1,
    gzip: opts.gzip ?? 'auto',
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await settleWithTools(
    pipeline(
      counted,
      createGunzip({ chunkSize: 1 << 18 }),
      (src: AsyncIterable<Buffer>) => transformTar(src, edit),
      enc.stream,
      createWriteStream(tarTmp),
      ...(opts.signal ? [{ signal: opts.signal }] : []),
    ),
    enc.tool ? [enc.tool] : [],
  );
  progress?.({ step: 'rewrite-rootfs', kind: 'end', done: total, total });
  return (await stat(tarTmp)).size;
}
