// Why: what every command needs from the CLI shell (output, exit code) without importing
// process globals, so commands stay testable.
import type { ProgressSink } from '../progress.js';

export interface Cli {
  out(line: string): void;
  err(line: string): void;
  setExitCode(code: number): void;
  /** Renders library progress events for the current output mode. */
  progress: ProgressSink;
  isTTY: boolean;
}
