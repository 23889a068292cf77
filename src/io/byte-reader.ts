// Why: cpio, tar and compressed-member parsers all need "give me exactly N bytes" and "hand
// back what I over-read" on top of a chunked async stream, without buffering whole files.

/** Reads an async stream of byte chunks with exact-length reads, skips and push-back. */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  /** Chunks read from the source but not yet handed out, in order. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  /** Bytes handed out so far (minus bytes pushed back). */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>, startPosition = 0) {
    this.it = source[Symbol.asyncIterator]();
    this.position = startPosition;
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    for (;;) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      if (r.value.length === 0) continue;
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
      this.pending.push(b);
      this.pendingBytes += b.length;
      return true;
    }
  }

  /** Ensures at least n bytes are buffered (fewer only at end of stream); returns what is buffered. */
  private async want(n: number): Promise<number> {
    while (this.pendingBytes < n && (await this.fill()));
    return this.pendingBytes;
  }

  private take(n: number): Buffer {
    const first = this.pending[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      this.pendingBytes -= n;
      this.position += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.pending[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.pending.shift();
      else this.pending[0] = c.subarray(k);
    }
    this.pendingBytes -= n;
    this.position += n;
    return out;
  }

  /** Returns the next n bytes without consuming them (shorter only at end of stream). */
  async peek(n: number): Promise<Buffer> {
    const have = await this.want(n);
    const k = Math.min(have, n);
    const b = this.take(k);
    this.unshift(b);
    return b;
  }

  /** Reads exactly n bytes; throws when the stream ends first. */
  async readExact(n: number, what = 'data'): Promise<Buffer> {
    if ((await this.want(n)) < n) {
      throw new Error(`unexpected end of data reading ${what} at byte ${this.position + this.pendingBytes}`);
    }
    return this.take(n);
  }

  /** Reads up to n bytes (fewer only at end of stream). */
  async readUpTo(n: number): Promise<Buffer> {
    const have = await this.want(n);
    return this.take(Math.min(have, n));
  }

  /** The next chunk of any size (at most max bytes), or null at end of stream. */
  async nextChunk(max = Number.MAX_SAFE_INTEGER): Promise<Buffer | null> {
    if (this.pendingBytes === 0 && !(await this.fill())) return null;
    return this.take(Math.min(this.pending[0]!.length, max));
  }

  /** Yields exactly n bytes as chunks; throws when the stream ends first. */
  async *chunks(n: number, what = 'data'): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const c = await this.nextChunk(left);
      if (!c) throw new Error(`unexpected end of data reading ${what} (${left} of ${n} bytes missing)`);
      left -= c.length;
      yield c;
    }
  }

  /** Discards exactly n bytes. */
  async skip(n: number, what = 'data'): Promise<void> {
    for await (const _ of this.chunks(n, what));
  }

  /** Puts bytes back in front of the stream (they are read again next). */
  unshift(b: Buffer): void {
    if (b.length === 0) return;
    this.pending.unshift(b);
    this.pendingBytes += b.length;
    this.position -= b.length;
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return (await this.want(1)) === 0;
  }
}
