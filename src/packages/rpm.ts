// Why: Edge Microvisor Toolkit ships its tools as .rpm files. An rpm is a 96-byte lead, a
// signature header (padded to 8 bytes), the main header, then a compressed newc cpio payload;
// the main header names the compressor (RPMTAG_PAYLOADCOMPRESSOR). This reads it as a stream
// with the initramfs's own decompressors and cpio reader: no rpm tools needed on the host.
import { ByteReader } from '../io/byte-reader.js';
import { decodeMember } from '../initramfs/compression.js';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, readCpio } from '../initramfs/cpio.js';
import { MAX_PAYLOAD_BYTES, type PackageEntry, payloadPath, readContent, sniffCompression } from './entries.js';

const LEAD_MAGIC = 0xedabeedb;
const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
const RPMTAG_NAME = 1000;
const RPMTAG_PAYLOADFORMAT = 1124;
const RPMTAG_PAYLOADCOMPRESSOR = 1125;
const STRING_TYPES = new Set([6, 8, 9]); // STRING, STRING_ARRAY, I18NSTRING: first string
/** rpm's own limits (lib/header.c): 64 Ki index entries, 256 MiB of data. */
const MAX_INDEX = 0xffff;
const MAX_DATA = 256 << 20;

export interface RpmHeader {
  /** Tag number -> first string value, for the string tags. */
  strings: Map<number, string>;
}

/** One header structure: magic, counts, index entries, data store. */
async function readHeader(reader: ByteReader, what: string): Promise<{ header: RpmHeader; bytes: number }> {
  const intro = await reader.readExact(16, `${what} header`);
  if (!intro.subarray(0, 4).equals(HEADER_MAGIC))
    throw new Error(`bad ${what} header magic at byte ${reader.position - 16}`);
  const nindex = intro.readUInt32BE(8);
  const hsize = intro.readUInt32BE(12);
  if (nindex > MAX_INDEX || hsize > MAX_DATA)
    throw new Error(`${what} header too large (${nindex} entries, ${hsize} bytes)`);
  const index = await reader.readExact(16 * nindex, `${what} header index`);
  const data = await reader.readExact(hsize, `${what} header data`);
  const strings = new Map<number, string>();
  for (let i = 0; i < nindex; i++) {
    const tag = index.readUInt32BE(16 * i);
    const type = index.readUInt32BE(16 * i + 4);
    const off = index.readUInt32BE(16 * i + 8);
    if (!STRING_TYPES.has(type)) continue;
    if (off >= hsize) throw new Error(`${what} header tag ${tag} points outside its data`);
    const end = data.indexOf(0, off);
    if (end < 0) throw new Error(`${what} header tag ${tag} is not terminated`);
    strings.set(tag, data.toString('utf8', off, end));
  }
  return { header: { strings }, bytes: 16 + 16 * nindex + hsize };
}

const COMPRESSORS: Record<string, 'gzip' | 'zstd' | 'xz' | undefined> = { gzip: 'gzip', zstd: 'zstd', xz: 'xz' };

/** Lead and both headers; leaves the reader at the payload. Returns the name and compressor. */
export async function readRpmHeaders(reader: ByteReader): Promise<{ name: string; compressor: string }> {
  const lead = await reader.readExact(96, 'rpm lead');
  if (lead.readUInt32BE(0) !== LEAD_MAGIC) throw new Error('not an rpm package (no lead magic)');
  const sig = await readHeader(reader, 'signature');
  await reader.skip((8 - (sig.bytes % 8)) % 8, 'signature padding');
  const { header } = await readHeader(reader, 'main');
  const name = header.strings.get(RPMTAG_NAME);
  if (!name) throw new Error('the main header has no package name');
  const format = header.strings.get(RPMTAG_PAYLOADFORMAT) ?? 'cpio';
  if (format !== 'cpio') throw new Error(`payload format ${format} is not supported (only cpio)`);
  return { name, compressor: header.strings.get(RPMTAG_PAYLOADCOMPRESSOR) ?? 'gzip' };
}

/** The payload as decompressed bytes: every member to the end of the file (concatenated members are valid). */
async function* payloadBytes(reader: ByteReader, compressor: string): AsyncGenerator<Buffer> {
  const declared = COMPRESSORS[compressor];
  if (!declared) throw new Error(`payload compressor ${compressor} is not supported (gzip, zstd or xz are)`);
  let first = true;
  while (!(await reader.atEnd())) {
    const head = await reader.peek(8);
    if (!first && head.every((b) => b === 0)) {
      // xz stream padding (multiples of four zero bytes)
      await reader.skip(Math.min(head.length, 4), 'payload padding');
      continue;
    }
    const found = sniffCompression(head);
    if (found !== declared)
      throw new Error(`the payload is ${found ?? 'unknown'} data, but the header says ${compressor}`);
    yield* decodeMember(reader, declared);
    first = false;
  }
  if (first) throw new Error('the payload is empty');
}

/** The payload's entries: newc cpio, hard links (data on the last link) turned into copies. */
export async function readRpmPayload(reader: ByteReader, compressor: string): Promise<PackageEntry[]> {
  const entries: PackageEntry[] = [];
  const budget = { left: MAX_PAYLOAD_BYTES };
  // Files sharing an inode: the earlier links come with size 0, the last carries the data.
  const waiting = new Map<number, Array<{ path: string; mode: number }>>();
  let trailer = false;
  for await (const r of readCpio(new ByteReader(payloadBytes(reader, compressor)), { stopAtTrailer: true })) {
    if (r.kind !== 'entry') continue;
    if (r.isTrailer) {
      trailer = true;
      break;
    }
    const path = payloadPath(r.name);
    if (path === '') continue;
    const type = r.mode & S_IFMT;
    if (type === S_IFDIR) entries.push({ path, type: 'dir', mode: r.mode & 0o7777 });
    else if (type === S_IFLNK) {
      entries.push({ path, type: 'symlink', target: (await readContent(r.data, budget, path)).toString('utf8') });
    } else if (type === S_IFREG) {
      const mode = r.mode & 0o7777;
      if (r.nlink > 1 && r.filesize === 0) {
        waiting.set(r.ino, [...(waiting.get(r.ino) ?? []), { path, mode }]);
        continue;
      }
      const content = await readContent(r.data, budget, path);
      entries.push({ path, type: 'file', mode, content });
      for (const w of waiting.get(r.ino) ?? []) entries.push({ ...w, type: 'file', content });
      waiting.delete(r.ino);
    }
    // devices, fifos and sockets have no place in an installer's root: skipped
  }
  if (!trailer) throw new Error('the payload ends before the cpio trailer');
  for (const ws of waiting.values()) for (const w of ws) entries.push({ ...w, type: 'file', content: Buffer.alloc(0) });
  return entries;
}
