// Why: streaming sha256 of files and sha256sum-file parsing, shared by the bootkit reader,
// the OS image check, the manifest and `inspect`.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, access } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError, VerificationError } from '../errors.js';

export async function sha256File(path: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20, signal })) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

export function sha256Text(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export const SHA256_RE = /^[0-9a-f]{64}$/;

/**
 * Reads a `sha256sum` file (`<hex>  <name>` or `<hex> *<name>` lines, or a bare hex) and
 * returns the digest for `name`; a file with a single digest applies to any name.
 */
export function parseSha256Sums(text: string, name: string, source: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const entries = lines.map((l) => {
    const m = /^([0-9a-fA-F]{64})(?:\s+\*?(.+))?$/.exec(l);
    if (!m) throw new UserError(`${source}: not a sha256sum file (bad line ${JSON.stringify(l.slice(0, 80))})`);
    return { hex: m[1]!.toLowerCase(), name: m[2] ? basename(m[2]) : undefined };
  });
  const match = entries.find((e) => e.name === name) ?? (entries.length === 1 ? entries[0] : undefined);
  if (!match) throw new UserError(`${source} has no checksum for ${name}`);
  return match.hex;
}

/** The checksum file that sits beside `path` (`X.sha256sum` or `X.sha256`), if any. */
export async function siblingChecksumFile(path: string): Promise<string | undefined> {
  for (const candidate of [`${path}.sha256sum`, `${path}.sha256`]) {
    try {
      await access(candidate);
      return candidate;
    } catch {
      // try next
    }
  }
  return undefined;
}

/** The digest for `path` from a checksum file beside it (and that file), or undefined when none. */
export async function siblingSha256(path: string): Promise<{ sha256: string; source: string } | undefined> {
  const source = await siblingChecksumFile(path);
  if (!source) return undefined;
  return { sha256: parseSha256Sums(await readFile(source, 'utf8'), basename(path), source), source };
}

/**
 * Hashes `path` and checks it against `expected` (hex) or, when not given, a checksum file
 * beside it. Returns the digest and where the expectation came from.
 */
export async function verifyFile(
  path: string,
  what: string,
  expected?: string,
  onBytes?: (n: number) => void,
  signal?: AbortSignal,
  memo?: { sha256(path: string, signal?: AbortSignal): Promise<string> },
): Promise<{ sha256: string; checkedAgainst?: string }> {
  let want = expected?.toLowerCase();
  let source: string | undefined = want ? 'the given sha256' : undefined;
  if (want && !SHA256_RE.test(want)) throw new UserError(`the sha256 given for the ${what} is not 64 hex digits`);
  if (!want) {
    const sib = await siblingSha256(path);
    want = sib?.sha256;
    source = sib?.source;
  }
  // memo: a digest remembered for this very file (unchanged since), else hashed now
  const sha256 = memo ? await memo.sha256(path, signal) : await sha256File(path, onBytes, signal);
  if (want && want !== sha256) {
    throw new VerificationError(
      `the ${what} ${path} does not match its checksum (${source}): expected ${want}, got ${sha256}; download it again or fix the checksum`,
      want,
      sha256,
    );
  }
  return { sha256, checkedAgainst: source };
}
