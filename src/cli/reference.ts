// Why: the CLI reference in docs/ is generated from the commands' own help, so it cannot drift
// from the code; a unit test fails when docs/cli-reference.md is stale (regenerate: npm run docs).
import type { Command } from 'commander';
import type { Cli } from './context.js';
import { createProgram } from './program.js';

const quietCli: Cli = { out: () => {}, err: () => {}, setExitCode: () => {}, progress: () => {}, isTTY: false };

function helpOf(cmd: Command): string {
  return cmd.helpInformation().trimEnd();
}

/** docs/cli-reference.md: `make-iso --help`, then each command's `--help`. */
export function cliReferenceMarkdown(): string {
  const program = createProgram(quietCli, { helpWidth: 100 });
  const parts = [
    '<!-- Why: every command and option, generated from the commands themselves by `npm run docs`; a unit test fails when it is stale. -->',
    '',
    '# CLI reference',
    '',
    '## make-iso',
    '',
    '```text',
    helpOf(program),
    '```',
  ];
  for (const cmd of program.commands) {
    parts.push('', `## make-iso ${cmd.name()}`, '', '```text', helpOf(cmd), '```');
  }
  return `${parts.join('\n')}\n`;
}
