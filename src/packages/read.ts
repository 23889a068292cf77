// Why: one entry point for package files: the format by name, a stream from disk, and every
// failure (truncated, corrupted, unsupported) turned into one line naming the file.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { ByteReader } from '../io/byte-reader.js';
import { readDebStream } from './deb.js';
import type { PackageContents } from './entries.js';
import { readRpmHeaders, readRpmPayload } from './rpm.js';

const PACKAGE_FILE = /\.(rpm|deb)$/;

/** Reads one .rpm or .deb file; a UserError naming the file when it cannot. */
export async function readPackage(file: string): Promise<PackageContents> {
  const format = PACKAGE_FILE.exec(file)?.[1] as 'rpm' | 'deb' | undefined;
  if (!format) throw new UserError(`${file} is not a package file: give .rpm or .deb files`);
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  const reader = new ByteReader(stream);
  try {
    if (format === 'deb') return { file, format, ...(await readDebStream(reader)) };
    const { name, compressor } = await readRpmHeaders(reader);
    return { file, format, name, entries: await readRpmPayload(reader, compressor) };
  } catch (err) {
    if (err instanceof UserError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
      throw new UserError(`cannot read the package ${file}: ${e.message}`, { cause: err });
    }
    const msg = err instanceof Error ? err.message : String(err);
    throw new UserError(`${file} is not a readable .${format} package (${msg}); it is truncated or damaged`, {
      cause: err,
    });
  } finally {
    stream.destroy();
  }
}

/** The package files named by paths: files as given, directories' *.rpm and *.deb sorted by name. */
export async function packageFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new UserError(`the package path ${p} does not exist`);
    if (st.isDirectory()) {
      const names = (await readdir(p)).filter((n) => PACKAGE_FILE.test(n)).sort();
      if (names.length === 0) throw new UserError(`the package directory ${p} holds no .rpm or .deb files`);
      out.push(...names.map((n) => resolve(join(p, n))));
    } else out.push(resolve(p));
  }
  return out;
}
