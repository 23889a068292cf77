// Why: a streaming newc cpio reader and writer. Hand-written because no well-kept npm cpio
// library exists, and none hands back the raw bytes of an entry: we re-emit entries we do
// not change byte for byte (header, name, padding, trailer) so untouched archives stay equal.
import type { ByteReader } from '../io/byte-reader.js';

export const TRAILER = 'TRAILER!!!';
const HEADER_LEN = 110;

/** The 13 numeric fields of a newc header plus the name. */
export interface CpioHeader {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  filesize: number;
  devmajor: number;
  devminor: number;
  rdevmajor: number;
  rdevminor: number;
  /** Only meaningful for the '070702' (crc) variant. */
  check: number;
  name: string;
}

const FIELDS = [
  'ino',
  'mode',
  'uid',
  'gid',
  'nlink',
  'mtime',
  'filesize',
  'devmajor',
  'devminor',
  'rdevmajor',
  'rdevminor',
  'namesize',
  'check',
] as const;

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

export interface CpioEntry extends CpioHeader {
  kind: 'entry';
  magic: '070701' | '070702';
  /** Offset of the header in the (decompressed) cpio stream. */
  offset: number;
  /** Header, name and name padding exactly as read. */
  headerRaw: Buffer;
  isTrailer: boolean;
  /** The file's data (filesize bytes). Unread data is skipped when the next record is asked for. */
  data(): AsyncGenerator<Buffer>;
  /** The whole entry as read: header, name, padding, data, data padding. */
  raw(): AsyncGenerator<Buffer>;
}

/** A run of zero bytes between archives (or after a trailer), kept for byte-identical output. */
export interface CpioPadding {
  kind: 'padding';
  offset: number;
  bytes: Buffer;
}

export type CpioRecord = CpioEntry | CpioPadding;

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Reads a run of zero bytes (up to 64 KiB) at the reader's position, or null when none. */
async function zeroRun(reader: ByteReader): Promise<Buffer | null> {
  if ((await reader.peek(1))[0] !== 0) return null; // the common case: a header follows
  const head = await reader.peek(1 << 16);
  let n = 0;
  while (n < head.length && head[n] === 0) n++;
  return n === 0 ? null : reader.readExact(n);
}

export interface ReadCpioOptions {
  /**
   * Stop right after the first TRAILER!!! entry (an uncompressed archive inside an initramfs,
   * followed by other archives). Otherwise read to the end: zero runs become padding records
   * and further archives in the same stream are read too.
   */
  stopAtTrailer?: boolean;
}

/**
 * Yields the records of a newc stream. Each entry's data must be read (or is skipped) before
 * the next record is requested.
 */
export async function* readCpio(reader: ByteReader, opts: ReadCpioOptions = {}): AsyncGenerator<CpioRecord> {
  for (;;) {
    if (!opts.stopAtTrailer) {
      for (let z = await zeroRun(reader); z; z = await zeroRun(reader)) {
        yield { kind: 'padding', offset: reader.position - z.length, bytes: z };
      }
    }
    if (await reader.atEnd()) return;
    const offset = reader.position;
    const h = await reader.readExact(HEADER_LEN, 'cpio header');
    const magic = h.toString('latin1', 0, 6);
    if (magic !== '070701' && magic !== '070702') {
      const what = magic.startsWith('0707')
        ? `an unsupported cpio format (${magic}); only newc is`
        : 'not a cpio header';
      throw new Error(`${what} at byte ${offset}`);
    }
    const f: Record<string, number> = {};
    FIELDS.forEach((name, i) => {
      const s = h.toString('latin1', 6 + i * 8, 14 + i * 8);
      if (!/^[0-9A-Fa-f]{8}$/.test(s)) throw new Error(`bad cpio header field ${name} at byte ${offset}`);
      f[name] = parseInt(s, 16);
    });
    const namesize = f.namesize!;
    if (namesize < 1 || namesize > 65536) throw new Error(`bad cpio name size ${namesize} at byte ${offset}`);
    const nameRaw = await reader.readExact(namesize + pad4(HEADER_LEN + namesize), 'cpio name');
    const name = nameRaw.toString('utf8', 0, namesize - 1);
    const filesize = f.filesize!;
    let left = filesize;
    let padRead = false;
    async function* data(): AsyncGenerator<Buffer> {
      for await (const c of reader.chunks(left, `cpio data of ${name}`)) {
        left -= c.length;
        yield c;
      }
    }
    async function readPad(): Promise<Buffer> {
      padRead = true;
      return reader.readExact(pad4(filesize), 'cpio padding');
    }
    const headerRaw = Buffer.concat([h, nameRaw]);
    const entry: CpioEntry = {
      kind: 'entry',
      magic,
      ino: f.ino!,
      mode: f.mode!,
      uid: f.uid!,
      gid: f.gid!,
      nlink: f.nlink!,
      mtime: f.mtime!,
      filesize,
      devmajor: f.devmajor!,
      devminor: f.devminor!,
      rdevmajor: f.rdevmajor!,
      rdevminor: f.rdevminor!,
      check: f.check!,
      name,
      offset,
      headerRaw,
      isTrailer: name === TRAILER,
      data,
      async *raw() {
        yield headerRaw;
        yield* data();
        const p = await readPad();
        if (p.length) yield p;
      },
    };
    yield entry;
    if (left > 0) await reader.skip(left, `cpio data of ${name}`);
    if (!padRead) await readPad();
    if (entry.isTrailer && opts.stopAtTrailer) return;
  }
}

/** Everything the writer needs for one entry; ownership and device fields default to 0. */
export interface CpioNewEntry {
  name: string;
  mode: number;
  mtime: number;
  ino: number;
  filesize: number;
  nlink?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  rdevmajor?: number;
  rdevminor?: number;
}

/** Encodes a newc header, the NUL-terminated name and its padding. */
export function cpioHeader(e: CpioNewEntry): Buffer {
  const nameBuf = Buffer.from(`${e.name}\0`, 'utf8');
  const values = [
    e.ino,
    e.mode,
    e.uid ?? 0,
    e.gid ?? 0,
    e.nlink ?? ((e.mode & S_IFMT) === S_IFDIR ? 2 : 1),
    e.mtime,
    e.filesize,
    e.devmajor ?? 0,
    e.devminor ?? 0,
    e.rdevmajor ?? 0,
    e.rdevminor ?? 0,
    nameBuf.length,
    0,
  ];
  const fields = values.map((v) => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`cpio field out of range: ${v} (${e.name})`);
    return v.toString(16).toUpperCase().padStart(8, '0');
  });
  const head = Buffer.from(`070701${fields.join('')}`, 'latin1');
  return Buffer.concat([head, nameBuf, Buffer.alloc(pad4(HEADER_LEN + nameBuf.length))]);
}

/** The zero bytes that follow `size` bytes of data. */
export function cpioDataPadding(size: number): Buffer {
  return Buffer.alloc(pad4(size));
}

/** The end-of-archive entry, as GNU cpio writes it (without its 512-byte block padding). */
export function cpioTrailer(): Buffer {
  return cpioHeader({ name: TRAILER, mode: 0, mtime: 0, ino: 0, filesize: 0, nlink: 1 });
}

/** A small in-memory entry for buildCpio. */
export type CpioMemEntry =
  | { name: string; type: 'file'; mode: number; content: Buffer }
  | { name: string; type: 'dir'; mode: number }
  | { name: string; type: 'symlink'; target: string };

/**
 * Builds a small archive in memory (for the overlay): entries in the given order, inode
 * numbers counting from 1, uid/gid 0, the given mtime, then the trailer.
 */
export function buildCpio(entries: readonly CpioMemEntry[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    const ino = i + 1;
    if (e.type === 'dir') {
      parts.push(cpioHeader({ name: e.name, mode: S_IFDIR | (e.mode & 0o7777), mtime, ino, filesize: 0 }));
      return;
    }
    const data = e.type === 'file' ? e.content : Buffer.from(e.target, 'utf8');
    const mode = e.type === 'file' ? S_IFREG | (e.mode & 0o7777) : S_IFLNK | 0o777;
    parts.push(
      cpioHeader({ name: e.name, mode, mtime, ino, filesize: data.length }),
      data,
      cpioDataPadding(data.length),
    );
  });
  parts.push(cpioTrailer());
  return Buffer.concat(parts);
}
