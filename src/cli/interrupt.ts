// Why: the one place that ends make-iso when it is interrupted. SIGINT (Ctrl-C, sent to the whole
// process group), SIGTERM and SIGHUP kill every child tool, remove every registered temp path,
// print one "interrupted" line (and a --json error event) and exit 128+signal. A closed output
// pipe (`make-iso ... | head -1`, EPIPE) does the same cleanup and exits quietly.
import { killChildTools } from '../io/children.js';
import { ExitCode } from '../errors.js';
import { removeAllTempsSync } from '../io/temps.js';

export const SIGNAL_EXIT_CODES = {
  SIGHUP: ExitCode.hangup,
  SIGINT: ExitCode.interrupted,
  SIGTERM: ExitCode.terminated,
} as const;

export type HandledSignal = keyof typeof SIGNAL_EXIT_CODES;

export interface InterruptHooks {
  /** Prints the one "interrupted" line and the --json event (must not throw). */
  report(signal: HandledSignal, exitCode: number): void;
  exit(code: number): never;
}

/** What a command adds to the interrupted line ("the drive holds a partial image"). */
let note = 'temporary files were removed; no output was published';

export function setInterruptNote(text: string): void {
  note = text;
}

export function interruptNote(): string {
  return note;
}

/** Synchronous steps run when make-iso ends on a signal, before the temps go (see onInterrupt). */
const interruptSteps = new Set<() => void>();

/**
 * Registers a synchronous step for a signal's exit, which cannot wait for a command's own async
 * cleanup (e.g. `write` clearing the first MiB of a half-written drive). Returns its remover.
 */
export function onInterrupt(step: () => void): () => void {
  interruptSteps.add(step);
  return () => interruptSteps.delete(step);
}

function cleanUp(): void {
  killChildTools();
  for (const step of interruptSteps) {
    try {
      step();
    } catch {
      // best effort: the exit and its message still follow
    }
  }
  removeAllTempsSync();
}

/** Installs the handlers once per process; returns a function that removes them (tests). */
export function installInterruptHandlers(hooks: InterruptHooks): () => void {
  let ending = false;
  const onSignal = (signal: HandledSignal): void => {
    if (ending) return;
    ending = true;
    const code = SIGNAL_EXIT_CODES[signal];
    cleanUp();
    try {
      hooks.report(signal, code);
    } catch {
      // the report is best effort; the exit code still says what happened
    }
    hooks.exit(code);
  };
  const onPipeError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE') throw err;
    if (ending) return;
    ending = true;
    cleanUp();
    hooks.exit(ExitCode.brokenPipe);
  };
  const handlers = (Object.keys(SIGNAL_EXIT_CODES) as HandledSignal[]).map((s) => {
    const h = (): void => onSignal(s);
    process.on(s, h);
    return [s, h] as const;
  });
  const onExit = (): void => removeAllTempsSync();
  process.on('exit', onExit);
  process.stdout.on('error', onPipeError);
  process.stderr.on('error', onPipeError);
  return () => {
    for (const [s, h] of handlers) process.off(s, h);
    process.off('exit', onExit);
    process.stdout.off('error', onPipeError);
    process.stderr.off('error', onPipeError);
  };
}
