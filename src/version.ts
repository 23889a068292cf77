// Why: one place that knows make-iso's version (from package.json), for --version and manifests.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** Project root: dist/ and src/ both sit one level below it. */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export const version: string = (
  JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }
).version;
