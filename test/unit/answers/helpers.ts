// Why: shared inputs for the answers tests: a temp dir with stand-in input files and a valid answers object.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJRhGRvR49s3rPdJSdtJlggQMqfJxqSZ9TyiIlnnjXgd ops@example';
export const ECDSA =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBM8TAeNmsL5qqT877khxs305ygWG7HOVfgBqsirN4xavMYsZWMyoy7d2+36WnL6KOJnC4X7tvC4gYL/1HkWovt4=';
/** `openssl passwd -6 -salt Xsalt123 'correct horse'` */
export const HASH =
  '$6$Xsalt123$WtLyg0Jm9Gd8nZIGsemaLPhMjEukrG.ewTnIM5tQY8wrjxhPn0FLK30fzYtBTDKmfUklsVyv3Xqdvu0PpBZUm0';

/** A temp dir holding boot.tar.gz, emt.raw.gz and an apps/ dir. */
export function inputsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mi-answers-'));
  writeFileSync(join(dir, 'boot.tar.gz'), 'bootkit');
  writeFileSync(join(dir, 'emt.raw.gz'), 'image');
  writeFileSync(join(dir, 'my image.raw.gz'), 'image');
  mkdirSync(join(dir, 'apps'));
  writeFileSync(join(dir, 'apps', 'app.sh'), '#!/bin/sh\n'); // an empty userAppsDir is refused
  return dir;
}

/** The smallest valid answers (relative paths, to be resolved against the inputs dir). */
export function minimal(): Record<string, unknown> {
  return {
    bootkit: { archive: 'boot.tar.gz' },
    osImage: { path: 'emt.raw.gz' },
    user: { name: 'edge', passwordHash: HASH },
  };
}
