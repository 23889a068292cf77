// Why: the ISO appears at its path whole or not at all: it is written to a temp file beside the
// target, synced, then linked (or, with --force, renamed) into place; never clobbers without --force.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, lstat, open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** Refuses an output that exists (unless force) or whose directory does not. */
export async function refuseExisting(output: string, force: boolean | undefined): Promise<void> {
  const s = await stat(output).catch(() => undefined);
  if (s && !force) throw new UserError(`${output} already exists; use --force to overwrite it`);
  if (s && !s.isFile()) throw new UserError(`${output} exists and is not a regular file; choose another output path`);
  const dir = await stat(dirname(output)).catch(() => undefined);
  if (!dir?.isDirectory()) throw new UserError(`the output directory ${dirname(output)} does not exist`);
  // before any work: a read-only or unwritable directory throws EROFS/EACCES here, which the CLI
  // boundary maps to a host error with a hint (xorriso would only say "exceeds free space")
  await access(dirname(output), constants.W_OK);
}

/**
 * Refuses an output path that names one of the inputs (by path, through links, or as the same
 * file), with or without --force: replacing it would destroy the input with the ISO.
 */
export async function refuseOutputIsInput(output: string, inputs: Record<string, string | undefined>): Promise<void> {
  const canonical = async (p: string): Promise<string> => realpath(p).catch(() => resolve(p));
  const out = await canonical(output);
  const outStat = await stat(output).catch(() => undefined);
  for (const [what, path] of Object.entries(inputs)) {
    if (!path) continue;
    const same =
      (await canonical(path)) === out ||
      (outStat !== undefined &&
        (await stat(path).then(
          (s) => s.dev === outStat.dev && s.ino === outStat.ino,
          () => false,
        )));
    if (same) {
      throw new UserError(
        `the output ${output} is the ${what}; writing the ISO there would destroy it (choose another -o)`,
      );
    }
  }
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
  const linked = await link(tmp, output).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') throw appeared(output);
      if (NO_HARD_LINKS.has(err.code ?? '')) return false;
      throw err;
    },
  );
  if (linked) {
    await rm(tmp);
    return;
  }
  // FAT and exFAT (USB sticks, shared folders) have no hard links: check, then rename. Another
  // process creating the output between the two calls would be replaced: a window of one syscall,
  // accepted so that an output directory on such a filesystem works at all.
  if (
    await lstat(output).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    )
  ) {
    throw appeared(output);
  }
  await rename(tmp, output);
}

/** Errors of link() on filesystems without hard links (vfat gives EPERM, others ENOTSUP/ENOSYS). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

function appeared(output: string): UserError {
  return new UserError(`${output} appeared while building; use --force to overwrite it`);
}
