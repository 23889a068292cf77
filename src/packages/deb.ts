// Why: a .deb is an `ar` archive: debian-binary, control.tar.*, data.tar.{xz,zst,gz}. This
// reads the members as a stream, takes the package name from control and the files from
// data.tar with the rootfs tar reader and the initramfs decompressors. No dpkg on the host.
import { decodeMember } from '../initramfs/compression.js';
import { ByteReader } from '../io/byte-reader.js';
import { readTar } from '../rootfs/tar.js';
import { MAX_PAYLOAD_BYTES, type PackageEntry, payloadPath, readContent, sniffCompression } from './entries.js';

const AR_MAGIC = '!<arch>\n';
const MEMBER = /^(control|data)\.tar(?:\.(gz|xz|zst))?$/;

interface ArMember {
  name: string;
  size: number;
}

async function arHeader(reader: ByteReader): Promise<ArMember | null> {
  if (await reader.atEnd()) return null;
  const at = reader.position;
  const h = await reader.readExact(60, 'ar member header');
  if (h.toString('latin1', 58, 60) !== '`\n') throw new Error(`bad ar member header at byte ${at}`);
  const name = h.toString('latin1', 0, 16).trimEnd().replace(/\/$/, '');
  const sizeText = h.toString('latin1', 48, 58).trim();
  if (!/^\d{1,10}$/.test(sizeText)) throw new Error(`bad ar member size at byte ${at}`);
  return { name, size: Number(sizeText) };
}

/** The tar inside a member, decompressed as its name says (and its magic confirms). */
async function* memberTar(reader: ByteReader, name: string, ext: string): AsyncGenerator<Buffer> {
  const found = sniffCompression(await reader.peek(8));
  if (found !== { gz: 'gzip', xz: 'xz', zst: 'zstd' }[ext]) throw new Error(`${name} is not ${ext} data`);
  yield* decodeMember(reader, found!);
}

/** Reads one member's bytes as a reader of their own; the rest of the member is drained after use. */
async function withMember<T>(outer: ByteReader, m: ArMember, use: (r: ByteReader) => Promise<T>): Promise<T> {
  const inner = new ByteReader(outer.chunks(m.size, m.name));
  const out = await use(inner);
  while (await inner.nextChunk());
  if (m.size % 2 === 1) await outer.skip(1, 'ar padding');
  return out;
}

async function readTarEntries(
  r: ByteReader,
  m: ArMember,
  ext: string | undefined,
  onEntry: (
    path: string,
    e: Parameters<typeof readContent>[0],
    kind: string,
    mode: number,
    link: string,
  ) => Promise<void>,
): Promise<void> {
  const bytes = ext ? memberTar(r, m.name, ext) : r.chunks(m.size, m.name);
  const tarReader = new ByteReader(bytes);
  let ended = false;
  for await (const t of readTar(tarReader)) {
    if (t.kind === 'end') {
      ended = true;
      break;
    }
    if (t.kind !== 'entry') continue;
    await onEntry(payloadPath(t.path), t.data, t.type, t.mode & 0o7777, t.linkpath);
  }
  if (!ended) throw new Error(`${m.name} ends without its end-of-archive blocks`);
  // Let the decoder see the end of its member (checksums are checked there).
  while (await tarReader.nextChunk());
}

/** Reads a .deb from a byte stream: its package name and the data.tar's entries. */
export async function readDebStream(reader: ByteReader): Promise<{ name: string; entries: PackageEntry[] }> {
  const magic = await reader.readExact(8, 'ar magic');
  if (magic.toString('latin1') !== AR_MAGIC) throw new Error('not a .deb package (no ar magic)');
  let name: string | undefined;
  let entries: PackageEntry[] | undefined;
  let first = true;
  for (let m = await arHeader(reader); m; m = await arHeader(reader)) {
    const member = m;
    if (first && member.name !== 'debian-binary') throw new Error('the first ar member is not debian-binary');
    first = false;
    const kind = MEMBER.exec(member.name);
    if (!kind) {
      await withMember(reader, member, async () => undefined);
      continue;
    }
    if (kind[1] === 'control') {
      name = await withMember(reader, member, async (r) => {
        let pkg: string | undefined;
        await readTarEntries(r, member, kind[2], async (path, data, type) => {
          if (path === 'control' && type === 'file') {
            const text = (await readContent(data, { left: 1 << 20 }, path)).toString('utf8');
            pkg = /^Package:\s*(\S+)/m.exec(text)?.[1];
          }
        });
        return pkg;
      });
      if (!name) throw new Error('control.tar has no control file with a Package: field');
    } else {
      const budget = { left: MAX_PAYLOAD_BYTES };
      const files = new Map<string, PackageEntry>();
      const list: PackageEntry[] = [];
      await withMember(reader, member, (r) =>
        readTarEntries(r, member, kind[2], async (path, data, type, mode, link) => {
          if (path === '') return;
          let e: PackageEntry | undefined;
          if (type === 'dir') e = { path, type: 'dir', mode };
          else if (type === 'symlink') e = { path, type: 'symlink', target: link };
          else if (type === 'file') e = { path, type: 'file', mode, content: await readContent(data, budget, path) };
          else if (type === 'hardlink') {
            const target = files.get(payloadPath(link));
            if (!target || target.type !== 'file')
              throw new Error(`hard link ${path} to ${link}, which comes before no file`);
            e = { ...target, path };
          }
          if (!e) return; // devices and fifos: not for an installer's root
          if (e.type === 'file') files.set(path, e);
          list.push(e);
        }),
      );
      entries = list;
      break; // data.tar is the last member that matters
    }
  }
  if (!name) throw new Error('no control.tar member');
  if (!entries) throw new Error('no data.tar member');
  return { name, entries };
}
