// Why: the ISO appears at its path whole or not at all: it is written to a temp file beside the
// target, synced, then linked (or, with --force, renamed) into place; never clobbers without --force.
import { randomBytes } from 'node:crypto';
import { link, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';

/** Refuses an output that exists (unless force) or whose directory does not. */
export async function refuseExisting(output: string, force: boolean | undefined): Promise<void> {
  const s = await stat(output).catch(() => undefined);
  if (s && !force) throw new UserError(`${output} already exists; use --force to overwrite it`);
  if (s && !s.isFile()) throw new UserError(`${output} exists and is not a regular file; choose another output path`);
  const dir = await stat(dirname(output)).catch(() => undefined);
  if (!dir?.isDirectory()) throw new UserError(`the output directory ${dirname(output)} does not exist`);
}

/** A hidden temp path beside the output (same filesystem, so the final step is atomic). */
export function tempPathBeside(output: string): string {
  return join(dirname(output), `.${basename(output)}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Syncs tmp to disk and puts it at output; the caller removes tmp if this throws. */
export async function publish(tmp: string, output: string, force: boolean | undefined): Promise<void> {
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (force) {
    await rename(tmp, output);
    return;
  }
  // link() fails if the target appeared meanwhile: never clobber without --force
  await link(tmp, output).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') throw new UserError(`${output} appeared while building; use --force to overwrite it`);
    throw err;
  });
  await rm(tmp);
}
