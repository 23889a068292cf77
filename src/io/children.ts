// Why: every child tool still running (xorriso, tar, zstd, ...), so an interrupt can kill them all
// and none outlives make-iso. Kept free of heavy imports: the signal handlers load it first.

interface Killable {
  kill(signal?: NodeJS.Signals): boolean;
}

const children = new Set<Killable>();

/** Tracks a running child; returns a function to call when it has exited. */
export function trackChild(proc: Killable): () => void {
  children.add(proc);
  return () => {
    children.delete(proc);
  };
}

/** Kills every tracked child with SIGKILL; returns how many were signalled. */
export function killChildTools(): number {
  let n = 0;
  for (const proc of children) {
    try {
      if (proc.kill('SIGKILL')) n++;
    } catch {
      // already gone
    }
  }
  children.clear();
  return n;
}
