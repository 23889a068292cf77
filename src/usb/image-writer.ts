// Why: writes an ISO to a drive or image file the careful way: exclusive open, large aligned
// direct I/O, sha256 while writing, first MiB last, flush, then a read-back that names the
// first bad byte. Progress is plain data; nothing here prints.
import { createHash } from 'node:crypto';
import { constants as C } from 'node:fs';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { run } from '../exec.js';
import { InterruptedError, UserError, VerificationError } from '../errors.js';
import { silent, type ProgressSink } from '../progress.js';
import { formatBytes } from '../io/size.js';
import { majMinOf } from './target.js';

/** Direct I/O unit: every O_DIRECT offset and length is a multiple of this (fits 4Kn drives). */
const UNIT = 4096;
/** Written last, so an interrupted write never leaves a half-written image that boots. */
const HEAD = 1024 * 1024;
export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;

export interface WriteOptions {
  /** The ISO (any regular file). */
  source: string;
  /** A whole block device, or an image file path (created when missing, never truncated). */
  target: string;
  kind: 'block' | 'file';
  /** Read back and compare after writing (default true). */
  verify?: boolean;
  /** Bytes per write; a multiple of 4096 (default 4 MiB). */
  blockSize?: number;
  /**
   * O_DIRECT: 'auto' (default) uses it for block devices when the kernel accepts it, else
   * buffered writes + fsync + `blockdev --flushbufs`; 'on' requires it; 'off' never uses it.
   */
  direct?: 'auto' | 'on' | 'off';
  signal?: AbortSignal;
  progress?: ProgressSink;
  /** Test seam: runs after the data is flushed and before the read-back. */
  afterWrite?: () => Promise<void> | void;
  /**
   * Block devices: the "major:minor" the safety checks saw. Checked on the open handle, so a
   * stick swapped for another under the same name after the checks is never written.
   */
  expectMajMin?: string;
}

export interface WriteResult {
  bytes: number;
  /** sha256 of what was written (hex). */
  sha256: string;
  verified: boolean;
  direct: boolean;
  writeSeconds: number;
  verifySeconds: number;
}

/** Aligned views carved from one allocation (Node gives no aligned allocator). */
interface Buffers {
  a: Buffer;
  b: Buffer;
  head: Buffer;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function openError(target: string, err: unknown): Error {
  switch (errno(err)) {
    case 'EBUSY':
      return new UserError(
        `${target} is busy: a partition is mounted or another program has it open; unmount it (or add --unmount) and close that program`,
        { cause: err },
      );
    case 'EACCES':
    case 'EPERM':
      return new UserError(`permission denied opening ${target}; run make-iso write as root (sudo)`, { cause: err });
    case 'EROFS':
      return new UserError(`${target} is read-only; check the write-protect switch`, { cause: err });
    case 'ENOENT':
      return new UserError(`${target} does not exist`, { cause: err });
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

async function openTarget(target: string, kind: 'block' | 'file', direct: boolean): Promise<FileHandle> {
  const flags = C.O_RDWR | (kind === 'block' ? C.O_EXCL : C.O_CREAT) | (direct ? C.O_DIRECT : 0);
  try {
    return await open(target, flags, 0o644);
  } catch (err) {
    throw openError(target, err);
  }
}

/**
 * Finds an offset into `big` at which O_DIRECT accepts the memory, by trying small direct
 * reads of the device's first block (harmless). Returns -1 when none works.
 */
async function probeAlignment(fh: FileHandle, big: Buffer): Promise<number> {
  for (let off = 0; off < UNIT; off += 16) {
    try {
      await fh.read(big, off, UNIT, 0);
      return off;
    } catch (err) {
      if (errno(err) !== 'EINVAL') throw err;
    }
  }
  return -1;
}

function carve(big: Buffer, off: number, bs: number): Buffers {
  return {
    a: big.subarray(off, off + bs),
    b: big.subarray(off + bs, off + 2 * bs),
    head: big.subarray(off + 2 * bs, off + 2 * bs + HEAD),
  };
}

/** Reads exactly `len` bytes unless the file ends first; returns the count. */
async function readFull(fh: FileHandle, buf: Buffer, len: number, pos: number): Promise<number> {
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

async function writeAll(fh: FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesWritten } = await fh.write(buf, done, len - done, pos + done);
    if (bytesWritten === 0) throw new Error(`short write at byte ${pos + done}`);
    done += bytesWritten;
  }
}

/** Writes through the device (direct or buffered) and a lazily opened buffered handle for an unaligned tail. */
class Sink {
  private tail?: FileHandle;
  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    private readonly direct: boolean,
  ) {}

  async write(buf: Buffer, len: number, pos: number): Promise<void> {
    if (!this.direct) return writeAll(this.fh, buf, len, pos);
    const aligned = len - (len % UNIT);
    if (aligned > 0) await writeAll(this.fh, buf, aligned, pos);
    if (aligned < len) {
      // Only the last few bytes of an image whose size is not a multiple of 4096.
      this.tail ??= await open(this.path, C.O_WRONLY);
      await writeAll(this.tail, buf.subarray(aligned), len - aligned, pos + aligned);
    }
  }

  /** Reads back `len` bytes at `pos` (direct reads are rounded up to the unit). */
  async read(buf: Buffer, len: number, pos: number): Promise<number> {
    if (!this.direct) return readFull(this.fh, buf, len, pos);
    const want = Math.ceil(len / UNIT) * UNIT;
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(buf, got, want - got, pos + got);
      got += bytesRead;
      if (bytesRead === 0 || got % UNIT !== 0) break;
    }
    return Math.min(got, len);
  }

  async sync(): Promise<void> {
    if (this.tail) await this.tail.sync();
    await this.fh.sync();
  }

  async close(): Promise<void> {
    await this.tail?.close().catch(() => {});
    this.tail = undefined;
  }
}

function interrupted(what: string): InterruptedError {
  return new InterruptedError(what);
}

/** One write in progress: the open ISO and target, the buffers and what to report. */
interface Job {
  src: FileHandle;
  sink: Sink;
  bufs: Buffers;
  size: number;
  bs: number;
  target: string;
  kind: 'block' | 'file';
  direct: boolean;
  signal?: AbortSignal | undefined;
  progress: ProgressSink;
}

function blockSizeOf(opts: WriteOptions): number {
  const bs = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (bs % UNIT !== 0 || bs < HEAD) throw new Error(`block size must be a multiple of ${UNIT} and at least 1 MiB`);
  return bs;
}

async function openSource(source: string): Promise<FileHandle> {
  return open(source, 'r').catch((err: unknown) => {
    throw new UserError(`cannot open the ISO ${source}: ${(err as Error).message}`, { cause: err });
  });
}

/**
 * Opens the target, direct when the mode asks for it and the kernel accepts an offset into `big`
 * (falling back to buffered I/O on EINVAL unless direct is 'on'), and carves the buffers.
 */
async function openDevice(
  opts: WriteOptions,
  big: Buffer,
  bs: number,
): Promise<{ fh: FileHandle; direct: boolean; bufs: Buffers }> {
  const mode = opts.direct ?? 'auto';
  if (mode === 'on' || (mode === 'auto' && opts.kind === 'block')) {
    let fh: FileHandle | undefined;
    try {
      fh = await openTarget(opts.target, opts.kind, true);
      const off = await probeAlignment(fh, big);
      if (off < 0) throw Object.assign(new Error('no aligned buffer offset accepted'), { code: 'EINVAL' });
      return { fh, direct: true, bufs: carve(big, off, bs) };
    } catch (err) {
      await fh?.close().catch(() => {});
      if (mode === 'on' || errno(err) !== 'EINVAL') throw err;
    }
  }
  return { fh: await openTarget(opts.target, opts.kind, false), direct: false, bufs: carve(big, 0, bs) };
}

/** Block devices: refuses a handle that is not the device the safety checks saw. */
async function checkSameDevice(fh: FileHandle, opts: WriteOptions): Promise<void> {
  if (opts.expectMajMin === undefined) return;
  const now = majMinOf((await fh.stat({ bigint: true })).rdev);
  if (now !== opts.expectMajMin) {
    throw new UserError(
      `${opts.target} is now a different device (${now}, checked ${opts.expectMajMin}); nothing was written, run the command again`,
    );
  }
}

/**
 * Writes `source` to `target` and (by default) verifies it by reading it back.
 * Throws UserError (busy, permission), InterruptedError (signal) or VerificationError.
 */
export async function writeImage(opts: WriteOptions): Promise<WriteResult> {
  const bs = blockSizeOf(opts);
  const src = await openSource(opts.source);
  let fh: FileHandle | undefined;
  let sink: Sink | undefined;
  try {
    const size = Number((await src.stat()).size);
    const big = Buffer.allocUnsafeSlow(2 * bs + HEAD + UNIT);
    const dev = await openDevice(opts, big, bs);
    fh = dev.fh;
    await checkSameDevice(fh, opts);
    sink = new Sink(fh, opts.target, dev.direct);
    const { direct, bufs } = dev;
    const progress = opts.progress ?? silent;
    const job: Job = {
      src,
      sink,
      bufs,
      size,
      bs,
      direct,
      target: opts.target,
      kind: opts.kind,
      signal: opts.signal,
      progress,
    };
    const { sha256, writeSeconds } = await writeBlocks(job);
    await opts.afterWrite?.();
    if (!(opts.verify ?? true)) return { bytes: size, sha256, verified: false, direct, writeSeconds, verifySeconds: 0 };
    const verifySeconds = await verifyImage(job, sha256);
    return { bytes: size, sha256, verified: true, direct, writeSeconds, verifySeconds };
  } finally {
    await sink?.close();
    await fh?.close().catch(() => {});
    await src.close().catch(() => {});
  }
}

// ---- the writer ----

/** The error a failed write ends with: what failed, at which byte, and the state the target is left in. */
function writeFailure(err: unknown, target: string, pos: number, size: number, touched: boolean): Error {
  const state = touched
    ? `${target} is incomplete (${formatBytes(pos)} of ${formatBytes(size)} written); its first MiB was cleared so it cannot boot a half-written image`
    : `nothing was written to ${target}`;
  if (err instanceof InterruptedError) {
    return interrupted(`interrupted: ${state}${touched ? '. Write it again' : ''}`);
  }
  if (errno(err)) {
    // EIO, ENOSPC, ENODEV...: the drive failed or was pulled out; the user can act on that.
    return new UserError(
      `writing ${target} failed at byte ${pos}: ${(err as Error).message}; ${state}. Check the drive and its connection, then write again`,
      { cause: err },
    );
  }
  return new Error(`writing ${target} at byte ${pos}: ${(err as Error).message}`, { cause: err });
}

/**
 * Writes the ISO, hashing the same bytes, with reads one block ahead; the first MiB goes last,
 * and on failure it is cleared so a half-written target never boots.
 */
async function writeBlocks(j: Job): Promise<{ sha256: string; writeSeconds: number }> {
  const { src, sink, bufs, size, bs } = j;
  const t0 = performance.now();
  const hash = createHash('sha256');
  j.progress({
    step: 'write',
    kind: 'start',
    done: 0,
    total: size,
    message: `writing ${formatBytes(size)} to ${j.target}`,
  });
  const headLen = await readFull(src, bufs.head, Math.min(HEAD, size), 0);
  hash.update(bufs.head.subarray(0, headLen));
  let pos = headLen;
  let [cur, other] = [bufs.a, bufs.b];
  let pending: Promise<number> | undefined = pos < size ? readFull(src, cur, Math.min(bs, size - pos), pos) : undefined;
  let touched = false;
  try {
    while (pending) {
      const n = await pending;
      if (n === 0) throw new Error(`the ISO ended early at byte ${pos}; was it changed while writing?`);
      if (j.signal?.aborted) throw interrupted('write');
      const next = pos + n;
      pending = next < size ? readFull(src, other, Math.min(bs, size - next), next) : undefined;
      touched = true;
      // The device write runs on libuv's pool while this thread hashes the same bytes.
      const written = sink.write(cur, n, pos);
      hash.update(cur.subarray(0, n));
      await written;
      pos = next;
      [cur, other] = [other, cur];
      j.progress({ step: 'write', kind: 'progress', done: pos, total: size });
    }
    if (j.signal?.aborted) throw interrupted('write');
    touched = true;
    await sink.write(bufs.head, headLen, 0);
    await sink.sync();
  } catch (err) {
    await pending?.catch(() => 0);
    if (touched) await clearHead(sink, bufs.head, Math.min(HEAD, size));
    throw writeFailure(err, j.target, pos, size, touched);
  }
  const sha256 = hash.digest('hex');
  const writeSeconds = (performance.now() - t0) / 1000;
  j.progress({ step: 'write', kind: 'end', done: size, total: size, message: `wrote ${formatBytes(size)}` });
  return { sha256, writeSeconds };
}

// ---- the verifier ----

/** Reads the target back with reads one block ahead; returns the sha256 of what it holds. */
async function readBack(j: Job, expected: string): Promise<string> {
  const { sink, size, bs } = j;
  const back = createHash('sha256');
  let vpos = 0;
  let [rcur, rother] = [j.bufs.a, j.bufs.b];
  let reading: Promise<number> | undefined = sink.read(rcur, Math.min(bs, size), 0);
  try {
    while (reading) {
      const want = Math.min(bs, size - vpos);
      const n: number = await reading;
      if (n < want) {
        throw new VerificationError(
          `read-back of ${j.target} ended at byte ${vpos + n} of ${size}; the drive is smaller than it claims or failing`,
          expected,
        );
      }
      if (j.signal?.aborted) {
        throw interrupted(`interrupted while verifying: ${j.target} was written completely but not verified`);
      }
      const next: number = vpos + n;
      // Read the next block while hashing this one.
      reading = next < size ? sink.read(rother, Math.min(bs, size - next), next) : undefined;
      back.update(rcur.subarray(0, n));
      vpos = next;
      [rcur, rother] = [rother, rcur];
      j.progress({ step: 'verify', kind: 'progress', done: vpos, total: size });
    }
  } catch (err) {
    if (err instanceof VerificationError || err instanceof InterruptedError || !errno(err)) throw err;
    throw new VerificationError(
      `reading back ${j.target} failed at byte ${vpos}: ${(err as Error).message}; the data was written but could not be verified`,
      expected,
    );
  } finally {
    await reading?.catch(() => 0);
  }
  return back.digest('hex');
}

/**
 * Verifies the target against the sha256 of what was written (direct reads bypass the page
 * cache; otherwise the device's cache is dropped first); on a mismatch, names the first bad byte.
 * Returns the seconds it took.
 */
async function verifyImage(j: Job, sha256: string): Promise<number> {
  const t1 = performance.now();
  if (!j.direct && j.kind === 'block') await run('blockdev', ['--flushbufs', j.target]);
  j.progress({ step: 'verify', kind: 'start', done: 0, total: j.size, message: `verifying ${j.target}` });
  const actual = await readBack(j, sha256);
  if (actual !== sha256) {
    const bad = await firstDifference(j.src, j.sink, j.bufs.a, j.size, j.bs);
    throw new VerificationError(
      bad === undefined
        ? `read-back of ${j.target} does not match the ISO (sha256 ${actual}, expected ${sha256}), but a second read matched: the drive returns unstable data; use another drive`
        : `read-back of ${j.target} does not match the ISO: first bad byte at offset ${bad} (0x${bad.toString(16)}); the drive may be failing or counterfeit; use another drive`,
      sha256,
      actual,
    );
  }
  const verifySeconds = (performance.now() - t1) / 1000;
  j.progress({ step: 'verify', kind: 'end', done: j.size, total: j.size, message: `verified sha256 ${sha256}` });
  return verifySeconds;
}

/** Best effort after a failed or interrupted write: zero the first MiB so nothing boots from it. */
async function clearHead(sink: Sink, buf: Buffer, len: number): Promise<void> {
  try {
    buf.fill(0, 0, len);
    await sink.write(buf, len, 0);
    await sink.sync();
  } catch {
    // the device may be gone; the error being reported matters more
  }
}

/**
 * clearHead for the signal path, which cannot wait for the writer's own catch: zeroes the first
 * MiB (or `len` bytes) of `target` synchronously so a half-written drive never boots. Best effort.
 */
export function clearHeadSync(target: string, len = HEAD): void {
  let fd: number | undefined;
  try {
    fd = openSync(target, 'r+');
    writeSync(fd, Buffer.alloc(len), 0, len, 0);
    fsyncSync(fd);
  } catch {
    // the drive may be gone; the interrupted line still says it holds a partial image
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Compares the ISO and the device block by block; returns the first differing byte offset. */
async function firstDifference(
  src: FileHandle,
  sink: Sink,
  devBuf: Buffer,
  size: number,
  bs: number,
): Promise<number | undefined> {
  const srcBuf = Buffer.allocUnsafe(bs);
  for (let pos = 0; pos < size; pos += bs) {
    const want = Math.min(bs, size - pos);
    const [a, b] = [await readFull(src, srcBuf, want, pos), await sink.read(devBuf, want, pos)];
    const n = Math.min(a, b);
    if (!srcBuf.subarray(0, n).equals(devBuf.subarray(0, n))) {
      for (let i = 0; i < n; i++) if (srcBuf[i] !== devBuf[i]) return pos + i;
    }
    if (a !== b) return pos + n;
  }
  return undefined;
}
