// Why: the one registry of temporary files and directories (the build's work dir in $TMPDIR, the
// hidden temp ISO beside the output, inspect's scratch dir, ...). Whatever ends the process (an
// error, a signal, a closed pipe) removes every path still registered, synchronously, so nothing
// is left behind even when the process exits before its `finally` blocks run.
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const registered = new Set<string>();

/** Registers a path to remove on exit or interrupt; returns a function that forgets it again. */
export function registerTemp(path: string): () => void {
  registered.add(path);
  return () => {
    registered.delete(path);
  };
}

/** Removes a registered path now (recursively, missing is fine) and forgets it. */
export async function removeTemp(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  registered.delete(path);
}

/** A fresh directory in $TMPDIR named PREFIX-XXXXXX, registered for removal. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  registerTemp(dir);
  return dir;
}

/** Paths registered now (for tests). */
export function registeredTemps(): string[] {
  return [...registered];
}

/** Removes every registered path synchronously (signal and exit handlers cannot await). */
export function removeAllTempsSync(): void {
  for (const path of registered) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // best effort: the process is ending; the path is reported by nothing else
    }
  }
  registered.clear();
}
