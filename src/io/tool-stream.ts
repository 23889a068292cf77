// Why: streaming through an external filter (xz, zstd, pigz) must go through the exec door
// and report the tool's own failure (with its stderr) rather than a bare EPIPE.
import type { Readable, Writable } from 'node:stream';
import { finished, spawnTool } from '../exec.js';

export interface ToolFilter {
  stdin: Writable;
  stdout: Readable;
  /** Resolves when the tool exits with 0; rejects with ToolError/MissingToolError otherwise. */
  done: Promise<void>;
  /**
   * Stops the tool (when it is still running) and destroys its stdin and stdout, so `done`
   * settles even when nobody reads the rest of the output; its failure then no longer counts.
   */
  kill(): void;
  /** True when kill() stopped a running tool. */
  readonly killed: boolean;
}

/** Starts `file args` as a stdin->stdout filter. Await `done` (or use `settleWithTools`). */
export function toolFilter(file: string, args: readonly string[], signal?: AbortSignal): ToolFilter {
  const proc = spawnTool(file, args, {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    ...(signal ? { cancelSignal: signal } : {}),
  });
  const done = finished(file, args, proc);
  let exited = false;
  // Rejections are reported through settleWithTools; never leave one unhandled.
  done.then(
    () => (exited = true),
    () => (exited = true),
  );
  let killed = false;
  return {
    stdin: proc.stdin!,
    stdout: proc.stdout!,
    done,
    kill: () => {
      if (!exited) {
        killed = true;
        proc.kill();
      }
      // execa settles only once stdout has ended: unread output (a paused pipe) would hold it.
      proc.stdin?.destroy();
      proc.stdout?.destroy();
    },
    get killed() {
      return killed;
    },
  };
}

/**
 * Awaits a stream pipeline together with the tools it runs through. When both fail, the
 * tool's error wins: it carries the command and stderr, the pipeline only has EPIPE; except
 * after an abort, where the tools' failures (killed by the cancel signal) are its consequence.
 */
export async function settleWithTools<T>(work: Promise<T>, tools: readonly ToolFilter[]): Promise<T> {
  // A failed pipeline may leave a tool waiting for input forever: stop it.
  const guarded = work.catch((err: unknown) => {
    for (const x of tools) x.kill();
    throw err;
  });
  const [w, ...t] = await Promise.allSettled([guarded, ...tools.map((x) => x.done)]);
  if (w!.status === 'rejected' && (w.reason as { name?: string } | null)?.name === 'AbortError') throw w.reason;
  t.forEach((r, i) => {
    if (r.status === 'rejected' && !tools[i]!.killed) throw r.reason;
  });
  if (w!.status === 'rejected') throw w.reason;
  return (w as PromiseFulfilledResult<T>).value;
}
