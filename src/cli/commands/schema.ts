// Why: `make-iso schema` prints (or writes) the JSON Schema of the answers file for editors and CI.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { answersJsonSchemaText, answersKeyTable } from '../../answers/json-schema.js';
import type { Cli } from '../context.js';

export function register(program: Command, cli: Cli): void {
  program
    .command('schema')
    .description('print the JSON Schema of the answers file (answers.schema.json is generated with it)')
    .option('-o, --output <file>', 'write it to this file instead of standard output')
    .option('--markdown', 'print the table of answers keys (as in docs/answers.md) instead')
    .action(async (opts: { output?: string; markdown?: boolean }) => {
      const text = opts.markdown ? `${answersKeyTable()}\n` : answersJsonSchemaText();
      if (opts.output) await writeFile(opts.output, text);
      else cli.out(text.trimEnd());
    });
}
