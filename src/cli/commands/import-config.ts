// Why: `make-iso import-config CONFIG_FILE` writes an answers file from the older shell tooling's
// config-file, and says, one line each, what it could not carry over. Nothing is written unless
// the result validates.
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { importConfigText } from '../../answers/import-config.js';
import { schemaModeline } from '../../answers/json-schema.js';
import { MAX_ANSWERS_BYTES } from '../../answers/load.js';
import { writeAnswersFile } from '../../answers/save.js';
import { UserError, ValidationError } from '../../errors.js';
import type { Cli } from '../context.js';

interface ImportOptions {
  output: string;
  force?: boolean;
  bootkit?: string;
  osImage?: string;
  passwordHash?: string;
}

async function readConfigFile(file: string): Promise<string> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new UserError(`${file}: is not a regular file`);
    if (s.size > MAX_ANSWERS_BYTES) throw new UserError(`${file}: is ${s.size} bytes; a config-file is at most 1 MiB`);
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`}`);
  }
}

export function register(program: Command, cli: Cli): void {
  program
    .command('import-config')
    .description(
      "write an answers file (mode 0600) from the shell tooling's config-file, without running it; prints one line per key it could not carry over",
    )
    .argument('<file>', 'the config-file of the older shell tooling (key="value" lines, then the cloud-init YAML part)')
    .option('-o, --output <file>', 'where to write the answers', 'answers.yaml')
    .option('-f, --force', 'replace the output file if it exists')
    .option('--bootkit <archive>', 'the bootkit archive to name in the answers (default: a placeholder to edit)')
    .option('--os-image <file>', 'the OS image to name in the answers (default: a placeholder to edit)')
    .option(
      '--password-hash <hash>',
      'user.passwordHash, from `make-iso hash-password` (plain passwords are never copied)',
    )
    .action(async (configFile: string, opts: ImportOptions) => {
      const text = await readConfigFile(configFile);
      const out = resolve(opts.output);
      const r = await importConfigText(text, {
        source: configFile,
        modeline: schemaModeline(dirname(out)),
        baseDir: dirname(out),
        bootkit: opts.bootkit,
        osImage: opts.osImage,
        passwordHash: opts.passwordHash,
      });
      for (const n of r.notes) cli.err(n);
      if (r.text === undefined) throw new ValidationError(r.errors, `the answers imported from ${configFile}`);
      for (const w of r.warnings) cli.err(`warning: ${w}`);
      await writeAnswersFile(out, r.text, { force: opts.force ?? false });
      cli.out(
        `wrote ${opts.output} (${r.carried.length} config-file key${r.carried.length === 1 ? '' : 's'} carried over)`,
      );
      cli.out(`next: check it, then run: make-iso validate --answers ${opts.output}`);
    });
}
