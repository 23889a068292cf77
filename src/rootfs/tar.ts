// Why: a streaming ustar/GNU/pax tar reader and writer. Hand-written because no tar library
// hands back the raw header blocks: entries we do not touch must pass through byte for byte
// (pax 'x'/'g' headers, GNU 'L'/'K' long names, xattrs, hard links, devices, sparse files).
import type { ByteReader } from '../io/byte-reader.js';

const BLOCK = 512;
const pad512 = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;

export type TarType = 'file' | 'hardlink' | 'symlink' | 'chardev' | 'blockdev' | 'dir' | 'fifo' | 'other';

const TYPES: Record<string, TarType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  S: 'file', // old GNU sparse
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'chardev',
  '4': 'blockdev',
  '5': 'dir',
  '6': 'fifo',
};

export interface TarEntry {
  kind: 'entry';
  /** Full name after GNU long-name and pax resolution, as stored (may start with "./"). */
  path: string;
  linkpath: string;
  typeflag: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  /** Data bytes stored in the archive (before padding). */
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
  /** Local pax records that applied to this entry. */
  pax: Record<string, string>;
  /** Offset of the first block of this entry (its first meta header, if any). */
  offset: number;
  /** Every block before the data as read: meta headers ('x', 'L', 'K') and their data, the header. */
  headerRaw: Buffer[];
  /** The data (size bytes). Unread data is skipped when the next record is asked for. */
  data(): AsyncGenerator<Buffer>;
  /** The whole entry as read: header blocks, data, padding. */
  raw(): AsyncGenerator<Buffer>;
}

/** A pax global header ('g'): applies to the whole archive, always passed through. */
export interface TarGlobal {
  kind: 'global';
  offset: number;
  raw: Buffer;
  pax: Record<string, string>;
}

/** The end of the archive: the first zero block and everything after it, as read. */
export interface TarEnd {
  kind: 'end';
  offset: number;
  raw(): AsyncGenerator<Buffer>;
}

export type TarRecord = TarEntry | TarGlobal | TarEnd;

function cstr(b: Buffer, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const z = s.indexOf(0);
  return s.toString('utf8', 0, z < 0 ? len : z);
}

/** Octal (NUL/space padded) or GNU base-256 number. */
function num(b: Buffer, start: number, len: number): number {
  if (b[start]! & 0x80) {
    let v = b[start]! & 0x3f; // positive base-256 only (negative times are not used by rootfs tars)
    for (let i = 1; i < len; i++) v = v * 256 + b[start + i]!;
    return v;
  }
  const s = b
    .toString('latin1', start, start + len)
    .replace(/[\0 ]+$/, '')
    .trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = num(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 32 : h[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  return stored === unsigned || stored === signed;
}

/** Parses pax records ("<len> key=value\n"). */
export function parsePax(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < b.length) {
    const sp = b.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(b.toString('latin1', i, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || i + len > b.length) break;
    const rec = b.toString('utf8', sp + 1, i + len - 1); // without the trailing newline
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

const isZeroBlock = (h: Buffer): boolean => h.every((x) => x === 0);

/**
 * Yields the records of a tar stream. Each entry's data must be read (or is skipped)
 * before the next record is requested.
 */
export async function* readTar(reader: ByteReader): AsyncGenerator<TarRecord> {
  for (;;) {
    if (await reader.atEnd()) return; // no end blocks: tolerated, like GNU tar
    const offset = reader.position;
    const headerRaw: Buffer[] = [];
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Record<string, string> = {};
    let h: Buffer;
    // Meta headers ('x', 'L', 'K') come before the entry they describe.
    for (;;) {
      h = await reader.readExact(BLOCK, 'tar header');
      if (isZeroBlock(h)) {
        if (headerRaw.length) throw new Error(`tar archive ends inside an entry at byte ${offset}`);
        reader.unshift(h);
        yield {
          kind: 'end',
          offset,
          async *raw() {
            for (let c = await reader.nextChunk(); c; c = await reader.nextChunk()) yield c;
          },
        };
        return;
      }
      if (!checksumOk(h)) throw new Error(`bad tar header checksum at byte ${reader.position - BLOCK}`);
      const t = String.fromCharCode(h[156]!);
      if (t !== 'x' && t !== 'L' && t !== 'K' && t !== 'g') break;
      const size = num(h, 124, 12);
      if (size > 1 << 20) throw new Error(`tar meta header of ${size} bytes at byte ${offset} is too large`);
      const body = await reader.readExact(size + pad512(size), 'tar meta data');
      const content = body.subarray(0, size);
      if (t === 'g') {
        if (headerRaw.length) throw new Error(`pax global header inside an entry at byte ${offset}`);
        yield { kind: 'global', offset, raw: Buffer.concat([h, body]), pax: parsePax(content) };
        return yield* readTar(reader);
      }
      headerRaw.push(h, body);
      if (t === 'x') pax = { ...pax, ...parsePax(content) };
      else if (t === 'L') longName = cstr(content, 0, content.length);
      else longLink = cstr(content, 0, content.length);
    }
    headerRaw.push(h);
    const typeflag = String.fromCharCode(h[156]!);
    const magic = h.toString('latin1', 257, 263);
    const prefix = magic === 'ustar\0' ? cstr(h, 345, 155) : '';
    const name = cstr(h, 0, 100);
    let size = num(h, 124, 12);
    if (typeflag === 'S' && h[482] !== 0) {
      // Old GNU sparse: extension blocks follow the header while their byte 504 is set.
      for (let more = true; more;) {
        const ext = await reader.readExact(BLOCK, 'tar sparse header');
        headerRaw.push(ext);
        more = ext[504] !== 0;
      }
    }
    if (pax.size !== undefined) size = Number(pax.size);
    const path = pax.path ?? longName ?? (prefix ? `${prefix}/${name}` : name);
    const linkpath = pax.linkpath ?? longLink ?? cstr(h, 157, 100);
    // Hard links, dirs, devices carry no data even when a size is set (except pax-extended sizes).
    const hasData = !['1', '2', '3', '4', '5', '6'].includes(typeflag);
    let left = hasData ? size : 0;
    let padRead = false;
    const total = left;
    async function* data(): AsyncGenerator<Buffer> {
      for await (const c of reader.chunks(left, `tar data of ${path}`)) {
        left -= c.length;
        yield c;
      }
    }
    async function readPad(): Promise<Buffer> {
      padRead = true;
      return reader.readExact(pad512(total), 'tar padding');
    }
    const entry: TarEntry = {
      kind: 'entry',
      path,
      linkpath,
      typeflag,
      type: TYPES[typeflag] ?? 'other',
      mode: num(h, 100, 8),
      uid: pax.uid !== undefined ? Number(pax.uid) : num(h, 108, 8),
      gid: pax.gid !== undefined ? Number(pax.gid) : num(h, 116, 8),
      size: total,
      mtime: num(h, 136, 12),
      devmajor: num(h, 329, 8),
      devminor: num(h, 337, 8),
      pax,
      offset,
      headerRaw,
      data,
      async *raw() {
        yield* headerRaw;
        yield* data();
        const p = await readPad();
        if (p.length) yield p;
      },
    };
    yield entry;
    if (left > 0) await reader.skip(left, `tar data of ${path}`);
    if (!padRead) await readPad();
  }
}

/** A new entry to write. Ownership is root:root; the caller gives the mtime. */
export type TarNewEntry =
  | { path: string; type: 'file'; mode: number; content: Buffer; mtime: number }
  | { path: string; type: 'dir'; mode: number; mtime: number }
  | { path: string; type: 'symlink'; linkpath: string; mtime: number };

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function writeStr(h: Buffer, s: string, start: number, len: number): void {
  h.write(s, start, len, 'utf8');
}

/** Splits a path into ustar prefix/name, or null when it does not fit. */
function splitUstar(path: string): [string, string] | null {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return [prefix, name];
  }
  return null;
}

function header(fields: {
  name: string;
  prefix: string;
  mode: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeStr(h, fields.name, 0, 100);
  h.write(octal(fields.mode & 0o7777, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(fields.size, 12), 124, 'latin1');
  h.write(octal(fields.mtime, 12), 136, 'latin1');
  h.write(fields.typeflag, 156, 'latin1');
  writeStr(h, fields.linkname, 157, 100);
  h.write('ustar\x0000', 257, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  h.write(octal(0, 8), 329, 'latin1');
  h.write(octal(0, 8), 337, 'latin1');
  writeStr(h, fields.prefix, 345, 155);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Encodes a new entry (ustar, with a pax header only when a name is too long). */
export function tarEntry(e: TarNewEntry): Buffer {
  const content = e.type === 'file' ? e.content : Buffer.alloc(0);
  const linkname = e.type === 'symlink' ? e.linkpath : '';
  const split = splitUstar(e.path);
  const parts: Buffer[] = [];
  let records = '';
  if (!split) records += paxRecord('path', e.path);
  if (Buffer.byteLength(linkname) > 100) records += paxRecord('linkpath', linkname);
  if (records) {
    const body = Buffer.from(records, 'utf8');
    const base = e.path.split('/').filter(Boolean).pop() ?? 'entry';
    const paxName = `PaxHeaders/${base}`.slice(0, 99);
    parts.push(
      header({
        name: paxName,
        prefix: '',
        mode: 0o644,
        size: body.length,
        mtime: e.mtime,
        typeflag: 'x',
        linkname: '',
      }),
      body,
      Buffer.alloc(pad512(body.length)),
    );
  }
  const [prefix, name] = split ?? ['', e.path.slice(0, 100)];
  const mode = e.type === 'symlink' ? 0o777 : e.mode;
  const typeflag = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2';
  parts.push(
    header({ name, prefix, mode, size: content.length, mtime: e.mtime, typeflag, linkname: linkname.slice(0, 100) }),
    content,
    Buffer.alloc(pad512(content.length)),
  );
  return Buffer.concat(parts);
}

/** Two zero blocks: the end of an archive. */
export function tarEndBlocks(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
