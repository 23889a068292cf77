// Why: one small family of error types so the CLI can map every failure to an exit code and a
// one-line message, while internal bugs still surface with a stack.

/** Exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  badInput: 2,
  missingTool: 3,
  verifyFailed: 4,
  /** The host refused: disk full, permission denied, read-only filesystem. */
  hostRefused: 5,
  hangup: 129,
  interrupted: 130,
  /** The reader of stdout went away (`| head -1`): quiet exit, like a shell's SIGPIPE. */
  brokenPipe: 141,
  terminated: 143,
} as const;

export abstract class MakeIsoError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: number;
  /** User-facing errors print only their message (no stack). */
  readonly userFacing: boolean = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input the user can fix: the message says what is wrong and how to fix it. */
export class UserError extends MakeIsoError {
  readonly code = 'E_USER';
  readonly exitCode = ExitCode.badInput;
}

/** A list of problems found at once, each as `path.to.key: message`. */
export class ValidationError extends MakeIsoError {
  readonly code = 'E_VALIDATION';
  readonly exitCode = ExitCode.badInput;
  constructor(
    readonly problems: string[],
    what = 'input',
  ) {
    super(`${what} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
  }
}

/** A host tool (xorriso, mmd, ...) is not installed. */
export class MissingToolError extends MakeIsoError {
  readonly code = 'E_MISSING_TOOL';
  readonly exitCode = ExitCode.missingTool;
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
  ) {
    super(`${tool} is not installed; install it with: apt-get install ${debianPackage} (or run 'make-iso doctor')`);
  }
}

/** An external tool ran and failed. Carries the command and the tail of its stderr. */
export class ToolError extends MakeIsoError {
  readonly code = 'E_TOOL';
  readonly exitCode = ExitCode.internal;
  constructor(
    readonly command: string,
    readonly toolExitCode: number | undefined,
    readonly stderrTail: string,
    /** `signal`: the signal that ended the tool (SIGKILL, ...), named when there is no exit code. */
    options?: { cause?: unknown; signal?: string },
  ) {
    const how =
      toolExitCode !== undefined ? ` (exit ${toolExitCode})` : options?.signal ? ` (killed by ${options.signal})` : '';
    super(`${command.split(' ')[0]} failed${how}${stderrTail ? `: ${stderrTail}` : ''}`, { cause: options?.cause });
  }
}

/** Data did not match what it must match (checksum, read-back). */
export class VerificationError extends MakeIsoError {
  readonly code = 'E_VERIFY';
  readonly exitCode = ExitCode.verifyFailed;
  constructor(
    message: string,
    readonly expected?: string,
    readonly actual?: string,
  ) {
    super(message);
  }
}

/** The user pressed Ctrl-C (or a signal arrived); work was cleaned up. */
export class InterruptedError extends MakeIsoError {
  readonly code = 'E_INTERRUPTED';
  readonly exitCode = ExitCode.interrupted;
}

/**
 * Adds a lowercase context phrase to an error so the user sees the chain
 * ("reading bootkit: initramfs: not a cpio archive"). MakeIsoErrors keep their class and
 * exit code; anything else becomes an internal error that keeps its cause.
 */
export function withContext(phrase: string, err: unknown): Error {
  if (err instanceof MakeIsoError) {
    err.message = `${phrase}: ${err.message}`;
    return err;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return new Error(`${phrase}: ${e.message}`, { cause: e });
}

/** Runs fn, prefixing any error with the context phrase. */
export async function inContext<T>(phrase: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw withContext(phrase, err);
  }
}

/** The host refused an operation: disk full, permission denied, read-only filesystem (exit 5). */
export class HostError extends MakeIsoError {
  readonly code: string;
  readonly exitCode = ExitCode.hostRefused;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** What each host refusal means and how to fix it. */
const HOST_REFUSALS: { errno: string[]; stderr: RegExp; code: string; what: string; hint: string }[] = [
  {
    errno: ['ENOSPC', 'EDQUOT'],
    stderr: /no space left on device|disk quota exceeded|exceeds free space on media|ENOSPC/i,
    code: 'E_NO_SPACE',
    what: 'no space left on device',
    hint: 'free some space, or point TMPDIR (work files) and -o (the ISO) at a filesystem with room',
  },
  {
    errno: ['EROFS'],
    stderr: /read-only file ?system|EROFS/i,
    code: 'E_READ_ONLY',
    what: 'read-only filesystem',
    hint: 'choose an output directory (and TMPDIR) on a writable filesystem',
  },
  {
    errno: ['EACCES', 'EPERM'],
    stderr: /permission denied|operation not permitted|EACCES|EPERM/i,
    code: 'E_PERMISSION',
    what: 'permission denied',
    hint: 'check the ownership and mode of the file or directory named, or choose another one',
  },
];

function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null && chain.length < 10 && !chain.includes(e)) {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return chain;
}

/**
 * Maps an error from anywhere below the CLI to a host refusal with a fix hint, when it is one:
 * an errno code in the cause chain, or a tool (tar, xorriso, ...) that said so on stderr.
 * Missing tools and user errors keep their own meaning.
 */
export function asHostError(err: unknown): HostError | undefined {
  if (err instanceof HostError) return err;
  if (err instanceof MissingToolError || err instanceof UserError || err instanceof ValidationError) return undefined;
  if (err instanceof InterruptedError) return undefined;
  const chain = causes(err);
  for (const r of HOST_REFUSALS) {
    const hit = chain.find((c) => {
      const e = c as { code?: unknown; stderrTail?: unknown; stderr?: unknown };
      if (typeof e.code === 'string' && r.errno.includes(e.code)) return true;
      const text = typeof e.stderrTail === 'string' ? e.stderrTail : typeof e.stderr === 'string' ? e.stderr : '';
      return r.stderr.test(text);
    });
    if (!hit) continue;
    const path = (hit as { path?: unknown }).path;
    const where = typeof path === 'string' ? ` (${path})` : '';
    const context = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return new HostError(r.code, `${r.what}${where}: ${r.hint} [${context}]`, { cause: err });
  }
  return undefined;
}
