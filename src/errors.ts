// Why: one small family of error types so the CLI can map every failure to an exit code and a
// one-line message, while internal bugs still surface with a stack.

/** Exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  badInput: 2,
  missingTool: 3,
  verifyFailed: 4,
  interrupted: 130,
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
    options?: { cause?: unknown },
  ) {
    super(
      `${command.split(' ')[0]} failed${toolExitCode === undefined ? '' : ` (exit ${toolExitCode})`}${stderrTail ? `: ${stderrTail}` : ''}`,
      options,
    );
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
