// Why: .rpm and .deb payloads (a cpio or a tar) come out of their readers as one list of plain
// entries, so the merge into the installer's root does not care which format a package had.
// Hard links become copies (the root they land in is built from file contents, not inodes).

/** One payload entry; path relative to the root ("usr/bin/x"), never "." or "..". */
export type PackageEntry =
  | { path: string; type: 'file'; mode: number; content: Buffer }
  | { path: string; type: 'dir'; mode: number }
  | { path: string; type: 'symlink'; target: string };

export interface PackageContents {
  /** The package file as given. */
  file: string;
  format: 'rpm' | 'deb';
  /** The package's name from its header (RPMTAG_NAME, or Package: of a .deb's control). */
  name: string;
  entries: PackageEntry[];
}

/** The most payload bytes one package may hold in memory (the overlay is built in memory). */
export const MAX_PAYLOAD_BYTES = 1 << 30;

/** "./usr/bin/x", "/usr/bin/x/" -> "usr/bin/x"; "" for the root itself; throws on "..". */
export function payloadPath(name: string): string {
  const parts = name.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..') || name.includes('\0'))
    throw new Error(`payload path ${JSON.stringify(name)} leaves the root`);
  return parts.join('/');
}

/** Reads an entry's data into memory, counting against a package-wide budget. */
export async function readContent(
  data: () => AsyncGenerator<Buffer>,
  budget: { left: number },
  path: string,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of data()) {
    budget.left -= c.length;
    if (budget.left < 0) throw new Error(`payload larger than ${MAX_PAYLOAD_BYTES} bytes (at ${path})`);
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts);
}

/** gzip, zstd or xz by magic; undefined for anything else. */
export function sniffCompression(head: Buffer): 'gzip' | 'zstd' | 'xz' | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return undefined;
}
