// Why: answers files can hold a password hash, so they are written 0600, never over an existing
// file unless asked, and atomically (temp file beside the target, then rename).
import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { registerTemp } from '../io/temps.js';

export async function writeAnswersFile(path: string, text: string, opts: { force?: boolean } = {}): Promise<void> {
  if (!opts.force) {
    try {
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(text);
      } finally {
        await fh.close();
      }
      await chmod(path, 0o600);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new UserError(`${path} already exists; use --force to replace it`);
      if (code === 'ENOENT') throw new UserError(`cannot write ${path}: its directory does not exist`);
      throw err;
    }
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const forget = registerTemp(tmp);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text);
    } finally {
      await fh.close();
    }
    await chmod(tmp, 0o600);
    await rename(tmp, path);
    forget();
  } catch (err) {
    await rm(tmp, { force: true });
    forget();
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`cannot write ${path}: its directory does not exist`);
    }
    throw err;
  }
}
