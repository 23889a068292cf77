// Why: builds the command tree, and is the one place that catches errors and maps them to exit
// codes (main.ts, the entry point, sets process.exitCode).
import { CommanderError } from 'commander';
import { asHostError, MakeIsoError, ExitCode, ValidationError } from '../errors.js';
import { createProgram } from './program.js';
import type { Cli } from './context.js';
import { processOutput } from './output.js';

/** The one boundary where any failure becomes a message, a --json event and an exit code. */
export function reportFailure(err: unknown, cli: Pick<Cli, 'err'>, env: NodeJS.ProcessEnv = process.env): number {
  const debug = Boolean(env.MAKE_ISO_DEBUG);
  const known = err instanceof MakeIsoError ? (asHostError(err) ?? err) : asHostError(err);
  if (known) {
    const problems = known instanceof ValidationError ? { problems: known.problems } : {};
    processOutput().failure({ code: known.code, exitCode: known.exitCode, message: known.message, ...problems });
    cli.err(`make-iso: ${known.message}`);
    if (debug && err instanceof Error && err.stack) cli.err(err.stack);
    return known.exitCode;
  }
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  processOutput().failure({ code: 'E_INTERNAL', exitCode: ExitCode.internal, message });
  if (debug) {
    cli.err(`make-iso: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } else {
    cli.err(`make-iso: internal error: ${message} (run with MAKE_ISO_DEBUG=1 for details, and please report it)`);
  }
  return ExitCode.internal;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const cli: Cli = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    setExitCode: (code) => {
      exitCode = code;
    },
    // live on a terminal, plain lines otherwise; commands with --json/--quiet/--verbose switch it
    progress: (e) => processOutput().progress(e),
    isTTY: Boolean(process.stdout.isTTY && process.stdin.isTTY),
  };
  const program = createProgram(cli);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; they already printed.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return ExitCode.ok;
      }
      return ExitCode.badInput;
    }
    return reportFailure(err, cli);
  }
  return exitCode;
}
