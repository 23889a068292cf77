// Why: the single door to external tools (xorriso, zstd, mmd, ...). Every call goes
// through execa here so failures become ToolError/MissingToolError with the stderr tail.
import { execa, type Options, type ResultPromise } from 'execa';
import { MissingToolError, ToolError } from './errors.js';
import { packageForTool } from './host/tools.js';
import { trackChild } from './io/children.js';

function track<T extends ResultPromise>(proc: T): T {
  const forget = trackChild(proc);
  proc.then(forget, forget);
  return proc;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Uint8Array;
  /** Kill the process after this many milliseconds. */
  timeoutMs?: number;
  cancelSignal?: AbortSignal;
}

function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join(' | ');
}

function toError(file: string, args: readonly string[], err: unknown): Error {
  const e = err as { code?: string; exitCode?: number; signal?: string; stderr?: unknown; isCanceled?: boolean };
  if (e.code === 'ENOENT') return new MissingToolError(file, packageForTool(file));
  const stderr = typeof e.stderr === 'string' ? e.stderr : '';
  return new ToolError([file, ...args].join(' '), e.exitCode, tail(stderr), {
    cause: err,
    ...(e.signal ? { signal: e.signal } : {}),
  });
}

/** Runs a tool to completion and returns its stdout (trimmed). */
export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  try {
    const r = await track(
      execa(file, args, {
        cwd: opts.cwd,
        env: opts.env,
        extendEnv: true,
        input: opts.input,
        timeout: opts.timeoutMs,
        cancelSignal: opts.cancelSignal,
        stripFinalNewline: true,
      }),
    );
    return r.stdout;
  } catch (err) {
    throw toError(file, args, err);
  }
}

/**
 * Starts a tool for streaming (stdin/stdout pipes). The caller must await the returned
 * promise (wrapped by `finished`) to see failures.
 */
export function spawnTool(file: string, args: readonly string[], opts: Options = {}): ResultPromise {
  return track(execa(file, args, { buffer: { stdout: false, stderr: true }, ...opts } as Options));
}

/** Awaits a spawned tool and converts its failure into a ToolError. */
export async function finished(file: string, args: readonly string[], proc: ResultPromise): Promise<void> {
  try {
    await proc;
  } catch (err) {
    throw toError(file, args, err);
  }
}

/** True when the tool is on PATH. */
export async function hasTool(file: string): Promise<boolean> {
  try {
    await execa('sh', ['-c', 'command -v "$1"', 'sh', file]);
    return true;
  } catch {
    return false;
  }
}
