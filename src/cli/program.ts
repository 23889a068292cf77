// Why: the command tree in one place, so `main` runs it and the generated CLI reference
// (docs/cli-reference.md) documents exactly the same commands and options.
import { Command } from 'commander';
import { commands } from './commands/index.js';
import { version } from '../version.js';
import type { Cli } from './context.js';

export function createProgram(cli: Cli, opts: { helpWidth?: number } = {}): Command {
  const program = new Command('make-iso')
    .description(
      'Turn an Edge Microvisor Bootkit release into a bootable hybrid installer ISO for an ' +
        'Edge Microvisor Toolkit Standalone Node, and write it to USB media.',
    )
    .version(version, '-V, --version', 'print the make-iso version')
    .showSuggestionAfterError(true)
    .exitOverride();
  // set before the commands are added: subcommands inherit help settings when created
  if (opts.helpWidth !== undefined) program.configureHelp({ helpWidth: opts.helpWidth });
  for (const register of commands) register(program, cli);
  return program;
}
