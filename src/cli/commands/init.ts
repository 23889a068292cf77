// Why: `make-iso init [FILE]` writes a fully commented answers template to start from.
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { schemaModeline } from '../../answers/json-schema.js';
import { answersTemplate } from '../../answers/template.js';
import { writeAnswersFile } from '../../answers/save.js';
import type { Cli } from '../context.js';

export function register(program: Command, cli: Cli): void {
  program
    .command('init')
    .description('write a fully commented answers file to edit (mode 0600)')
    .argument('[file]', 'where to write it', 'answers.yaml')
    .option('-f, --force', 'replace the file if it exists')
    .action(async (file: string, opts: { force?: boolean }) => {
      const path = resolve(file);
      await writeAnswersFile(path, answersTemplate(schemaModeline(dirname(path))), { force: opts.force ?? false });
      cli.out(`wrote ${file}`);
      cli.out(`next: edit it, then run: make-iso validate --answers ${file}`);
    });
}
