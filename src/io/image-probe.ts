// Why: some answers can only take effect when the OS image carries what they need (cloud-init,
// chrony, sudo, an edge_persistent partition). The installer used to find out at step 7, after
// the disk was written. This probe learns those facts at build time: it reads the GPT of the
// inflated *.raw.gz stream, copies the rootfs partition into a sparse temp file (zero blocks are
// never written) and asks debugfs (e2fsprogs) which files exist. It inflates the whole stream
// once: a cut or damaged gzip fails the build, not the node, and the raw size, raw sha256 and ext4
// superblock features it records let the installer skip its own full inflate before writing.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { UserError } from '../errors.js';
import { run } from '../exec.js';
import { makeTempDir, removeTemp } from './temps.js';

export const SECTOR = 512;
/** GPT type of an EFI system partition (the installer also finds the ESP by this type). */
export const ESP_TYPE = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';

export interface GptPartition {
  /** 1-based partition number. */
  number: number;
  name: string;
  /** Lowercase GUID string. */
  typeGuid: string;
  firstLba: number;
  lastLba: number;
}

/** A GPT GUID (mixed-endian on disk) as its lowercase string form. */
export function guidString(b: Buffer): string {
  const h = (s: Buffer) => s.toString('hex');
  const le = (s: Buffer) => h(Buffer.from(s).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${h(b.subarray(8, 10))}-${h(b.subarray(10, 16))}`;
}

/** Bytes of the disk's start needed to read the whole partition entry array, or undefined without a GPT header. */
export function gptBytesNeeded(head: Buffer): number | undefined {
  if (head.length < 2 * SECTOR || head.subarray(SECTOR, SECTOR + 8).toString('latin1') !== 'EFI PART') return undefined;
  const entriesLba = Number(head.readBigUInt64LE(SECTOR + 72));
  const count = head.readUInt32LE(SECTOR + 80);
  const size = head.readUInt32LE(SECTOR + 84);
  return entriesLba * SECTOR + count * size;
}

/** The used partitions of the GPT at the start of `head` (MBR, header at LBA 1, entry array). */
export function parseGpt(head: Buffer): GptPartition[] {
  const need = gptBytesNeeded(head);
  if (need === undefined) throw new UserError('the OS image holds no GPT header');
  if (head.length < need) throw new UserError('the OS image ends inside its GPT partition table');
  const entriesAt = Number(head.readBigUInt64LE(SECTOR + 72)) * SECTOR;
  const count = head.readUInt32LE(SECTOR + 80);
  const size = head.readUInt32LE(SECTOR + 84);
  if (size < 128 || count > 1024) throw new UserError('the OS image has a malformed GPT header');
  const parts: GptPartition[] = [];
  for (let i = 0; i < count; i++) {
    const e = head.subarray(entriesAt + i * size, entriesAt + (i + 1) * size);
    const type = e.subarray(0, 16);
    if (type.every((b) => b === 0)) continue;
    const nameRaw = e.subarray(56, 128).toString('utf16le');
    const nul = nameRaw.indexOf('\0');
    parts.push({
      number: i + 1,
      name: nul < 0 ? nameRaw : nameRaw.slice(0, nul),
      typeGuid: guidString(type),
      firstLba: Number(e.readBigUInt64LE(32)),
      lastLba: Number(e.readBigUInt64LE(40)),
    });
  }
  return parts;
}

/** The one partition named `name` (case-insensitive, as the installer matches labels), if exactly one. */
function single(parts: GptPartition[], name: string): GptPartition | undefined {
  const found = parts.filter((p) => p.name.toLowerCase() === name);
  return found.length === 1 ? found[0] : undefined;
}

/** What the installer will find on the written disk (image_find_partitions in lib/image.sh). */
export interface ImageLayout {
  rootfs: GptPartition;
  esp: GptPartition;
  persistent?: { partition: GptPartition; bytes: number; last: boolean };
}

/** Picks rootfs (or rootfs_a), esp (by name, else by type) and edge_persistent; refuses what the installer would refuse. */
export function imageLayout(parts: GptPartition[], image: string): ImageLayout {
  const rootfs = single(parts, 'rootfs') ?? single(parts, 'rootfs_a');
  if (!rootfs) {
    throw new UserError(
      `the OS image ${image} has no single GPT partition named rootfs (or rootfs_a); the installer could not configure it`,
    );
  }
  const espByType = parts.filter((p) => p.typeGuid === ESP_TYPE);
  const esp = single(parts, 'esp') ?? (espByType.length === 1 ? espByType[0] : undefined);
  if (!esp)
    throw new UserError(`the OS image ${image} has no single EFI system partition (named esp, or of the ESP type)`);
  const pers = single(parts, 'edge_persistent');
  const layout: ImageLayout = { rootfs, esp };
  if (pers) {
    layout.persistent = {
      partition: pers,
      bytes: (pers.lastLba - pers.firstLba + 1) * SECTOR,
      last: parts.every((p) => p.firstLba <= pers.firstLba),
    };
  }
  return layout;
}

/** Files in the rootfs whose presence decides whether an answer can apply (any one path is enough). */
export const PROBED_FILES = {
  cloudInit: ['/etc/cloud/cloud.cfg'],
  chrony: ['/usr/sbin/chronyd', '/sbin/chronyd'],
  sudo: ['/usr/bin/sudo', '/bin/sudo'],
  sshd: ['/usr/sbin/sshd', '/sbin/sshd'],
  containerEngine: ['/usr/bin/dockerd', '/usr/sbin/dockerd', '/usr/bin/containerd'],
} as const;
export type ProbedFile = keyof typeof PROBED_FILES;

/** The ext4 superblock feature words of one partition (s_feature_incompat, s_feature_ro_compat). */
export interface Ext4Features {
  name: string;
  /** Byte offset of the partition in the raw image. */
  start: number;
  incompat: number;
  roCompat: number;
}

/** The inflated image as a whole: what the installer would otherwise inflate it once more to learn. */
export interface RawImageFacts {
  bytes: number;
  sha256: string;
  /** Every partition holding an ext2/3/4 superblock, in partition-table order. */
  ext4: Ext4Features[];
}

export interface OsImageFacts {
  layout: ImageLayout;
  has: Record<ProbedFile, boolean>;
  /** Bytes written to the sparse temp file (the rootfs's non-zero blocks). */
  probedBytes: number;
  raw: RawImageFacts;
}

const BLOCK = 64 * 1024;
const ZERO = Buffer.alloc(BLOCK);

/** Writes the non-zero BLOCK-aligned pieces of `chunk` (at disk offset `at`) that fall in [from, to) to fh at offset - from. */
async function writeRange(
  fh: Awaited<ReturnType<typeof open>>,
  chunk: Buffer,
  at: number,
  from: number,
  to: number,
): Promise<number> {
  let written = 0;
  let pos = Math.max(at, from);
  const end = Math.min(at + chunk.length, to);
  while (pos < end) {
    const next = Math.min(end, (Math.floor((pos - from) / BLOCK) + 1) * BLOCK + from);
    const piece = chunk.subarray(pos - at, next - at);
    if (!piece.equals(ZERO.subarray(0, piece.length))) {
      await fh.write(piece, 0, piece.length, pos - from);
      written += piece.length;
    }
    pos = next;
  }
  return written;
}

/** Copies the bytes of `chunk` (at disk offset `at`) that fall in [from, from + into.length) into `into`. */
function copyRange(chunk: Buffer, at: number, from: number, into: Buffer): void {
  const lo = Math.max(at, from);
  const hi = Math.min(at + chunk.length, from + into.length);
  if (lo < hi) chunk.copy(into, lo - from, lo - at, hi - at);
}

const EXT4_MAGIC = 0xef53;
/** Where a partition's ext2/3/4 superblock lies, and how much of it is read. */
const SB_OFFSET = 1024;
const SB_BYTES = 1024;

/** The ext2/3/4 partitions among `parts`, from their superblocks (one buffer per partition). */
function ext4Features(parts: GptPartition[], supers: Buffer[]): Ext4Features[] {
  return parts.flatMap((p, i) => {
    const sb = supers[i]!;
    if (sb.readUInt16LE(56) !== EXT4_MAGIC) return [];
    return [
      { name: p.name, start: p.firstLba * SECTOR, incompat: sb.readUInt32LE(0x60), roCompat: sb.readUInt32LE(0x64) },
    ];
  });
}

/**
 * Inflates `image` whole, once: the partition table, the rootfs as a sparse file, every
 * partition's superblock, and the raw size and sha256 (zlib checks the gzip CRC and length at the
 * end, so a damaged stream fails here).
 */
async function readImage(
  image: string,
  dest: string,
  signal?: AbortSignal,
): Promise<{ parts: GptPartition[]; layout: ImageLayout; written: number; raw: RawImageFacts }> {
  const src = createReadStream(image, { highWaterMark: 1 << 20 });
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  src.on('error', (e) => gunzip.destroy(e));
  src.pipe(gunzip);
  const onAbort = () => gunzip.destroy(new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  const fh = await open(dest, 'w', 0o600);
  let head: Buffer = Buffer.alloc(0);
  let found: { parts: GptPartition[]; layout: ImageLayout; from: number; to: number; supers: Buffer[] } | undefined;
  let at = 0;
  let written = 0;
  const hash = createHash('sha256');
  const superblocks = (chunk: Buffer, offset: number) => {
    for (const [i, p] of found!.parts.entries())
      copyRange(chunk, offset, p.firstLba * SECTOR + SB_OFFSET, found!.supers[i]!);
  };
  try {
    try {
      for await (const data of gunzip) {
        const chunk = data as Buffer;
        hash.update(chunk);
        if (!found) {
          head = Buffer.concat([head, chunk]);
          const need = gptBytesNeeded(head);
          if (head.length >= 2 * SECTOR && need === undefined)
            throw new UserError(`the OS image ${image} holds no GPT disk`);
          if (need !== undefined && head.length >= need) {
            const parts = parseGpt(head);
            const layout = imageLayout(parts, image);
            const from = layout.rootfs.firstLba * SECTOR;
            const to = (layout.rootfs.lastLba + 1) * SECTOR;
            found = { parts, layout, from, to, supers: parts.map(() => Buffer.alloc(SB_BYTES)) };
            await fh.truncate(to - from);
            written += await writeRange(fh, head, 0, from, to);
            superblocks(head, 0);
            at = head.length;
            head = Buffer.alloc(0);
          }
        } else {
          if (at < found.to) written += await writeRange(fh, chunk, at, found.from, found.to);
          superblocks(chunk, at);
          at += chunk.length;
        }
      }
    } catch (err) {
      if (signal?.aborted || err instanceof UserError) throw err;
      // zlib: Z_BUF_ERROR "unexpected end of file" is a cut stream; anything else, damaged data
      if ((err as { code?: string }).code === 'Z_BUF_ERROR')
        throw new UserError(`the OS image ${image} is truncated (its gzip stream ends early); download it again`);
      throw new UserError(`the OS image ${image} is corrupt gzip data (it does not inflate); download it again`);
    }
    if (!found || at < found.to) {
      throw new UserError(`the OS image ${image} ends before the end of its rootfs partition (truncated?)`);
    }
    const raw = { bytes: at, sha256: hash.digest('hex'), ext4: ext4Features(found.parts, found.supers) };
    return { parts: found.parts, layout: found.layout, written, raw };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    src.destroy();
    gunzip.destroy();
    await fh.close();
  }
}

/**
 * Which of `paths` exist in the ext4 file system `fs` (symlinks inside a path are followed), by
 * one debugfs run; undefined when debugfs cannot open `fs` as ext2/3/4. debugfs echoes each
 * command on stdout ("debugfs: stat PATH") and prints "Inode: N" there when the path exists.
 */
export async function ext4Paths(
  fs: string,
  paths: readonly string[],
  signal?: AbortSignal,
): Promise<Set<string> | undefined> {
  const input = ['/', ...paths].map((p) => `stat ${p}\n`).join('');
  const out = await run('debugfs', ['-c', '-f', '-', fs], { input, cancelSignal: signal, env: { LC_ALL: 'C' } });
  const found = new Set<string>();
  let current: string | undefined;
  for (const line of out.split('\n')) {
    const cmd = /^debugfs: stat (.*)$/.exec(line);
    if (cmd) current = cmd[1];
    else if (current !== undefined && /^Inode: \d+/.test(line)) found.add(current);
  }
  if (!found.has('/')) return undefined;
  found.delete('/');
  return found;
}

/** ext4 incompat feature bits debugfs (e2fsprogs 1.47) cannot open, by name (the rest it reads). */
const UNREADABLE_INCOMPAT: ReadonlyArray<[number, string]> = [
  [0x1, 'compression'],
  [0x1000, 'dirdata'],
];
const KNOWN_INCOMPAT = 0x3ffff;

/**
 * Why debugfs could not open the rootfs: not ext2/3/4 at all, or ext4 with features it cannot
 * read (named from the superblock's incompat flags). Such a file system fails on the node too
 * (the installer's step 3 refuses features Linux cannot mount), so the build says so now.
 */
function unreadableRootfs(image: string, rootfs: Ext4Features | undefined): string {
  if (!rootfs) return `the rootfs partition of the OS image ${image} is not an ext4 file system`;
  const { incompat } = rootfs;
  const names = UNREADABLE_INCOMPAT.filter(([bit]) => incompat & bit).map(([, n]) => n);
  if (incompat & ~KNOWN_INCOMPAT) names.push(`unknown flags 0x${(incompat & ~KNOWN_INCOMPAT).toString(16)}`);
  const which = names.length > 0 ? names.join(', ') : `incompat flags 0x${incompat.toString(16)}`;
  return `the rootfs of the OS image ${image} uses ext4 features that cannot be read or mounted (${which}); rebuild the image without them`;
}

/** Reads the facts of the OS image that decide whether answers can apply. Temp files are removed whatever happens. */
export async function probeOsImage(image: string, signal?: AbortSignal): Promise<OsImageFacts> {
  const dir = await makeTempDir('make-iso-probe');
  try {
    const fs = join(dir, 'rootfs.img');
    const { layout, written, raw } = await readImage(image, fs, signal);
    const entries = Object.entries(PROBED_FILES) as Array<[ProbedFile, readonly string[]]>;
    const found = await ext4Paths(
      fs,
      entries.flatMap(([, paths]) => paths),
      signal,
    );
    if (!found) {
      // the superblocks were read in the one pass: no need to open the copy again
      const rootfs = raw.ext4.find((p) => p.start === layout.rootfs.firstLba * SECTOR);
      throw new UserError(unreadableRootfs(image, rootfs));
    }
    const has = Object.fromEntries(entries.map(([fact, paths]) => [fact, paths.some((p) => found.has(p))])) as Record<
      ProbedFile,
      boolean
    >;
    return { layout, has, probedBytes: written, raw };
  } finally {
    await removeTemp(dir);
  }
}
