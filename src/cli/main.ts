#!/usr/bin/env node
// Why: the CLI entry point: builds the command tree, and is the one place that catches
// errors, maps them to exit codes and calls process.exit.
import { CommanderError } from 'commander';
import { MakeIsoError, ExitCode, ValidationError } from '../errors.js';
import { createProgram } from './program.js';
import type { Cli } from './context.js';
import { processOutput } from './output.js';

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
    const problems = err instanceof ValidationError ? { problems: err.problems } : {};
    if (err instanceof MakeIsoError) {
      processOutput().failure({ code: err.code, exitCode: err.exitCode, message: err.message, ...problems });
      cli.err(`make-iso: ${err.message}`);
      if (process.env.MAKE_ISO_DEBUG && err.stack) cli.err(err.stack);
      return err.exitCode;
    }
    processOutput().failure({ code: 'E_INTERNAL', exitCode: ExitCode.internal, message: String(err) });
    cli.err(`make-iso: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return ExitCode.internal;
  }
  return exitCode;
}

process.exitCode = await main(process.argv.slice(2));
