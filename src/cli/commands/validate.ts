// Why: `make-iso validate --answers FILE` checks everything a build would (schema, rules, input
// files and their checksums, host tools) without building: exit 0 ok, 2 bad input, 3 missing tool.
import type { Command } from 'commander';
import { loadAnswers } from '../../answers/load.js';
import { checkChecksums } from '../../answers/rules.js';
import { summarize, summaryLines } from '../../answers/summary.js';
import { ValidationError } from '../../errors.js';
import { checkHostTools } from '../../host/tools.js';
import { overridesFromFlags, requireBuildTools, type BuildFlags } from '../build-run.js';
import type { Cli } from '../context.js';
import { setProcessOutput } from '../output.js';

interface ValidateOptions extends BuildFlags {
  answers: string;
  checksums: boolean;
  tools: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command, _cli: Cli): void {
  program
    .command('validate')
    .description('check an answers file, its input files and checksums, and the host tools, without building')
    .requiredOption('-a, --answers <file>', 'the answers file (YAML or JSON)')
    .option('-o, --output <iso>', 'check this output path instead of the one in the file')
    .option('--bootkit <archive>', 'check this bootkit archive instead of the one in the file')
    .option('--os-image <file>', 'check this OS image instead of the one in the file')
    .option('-f, --force', 'the output may be replaced (silences that warning)')
    .option('--no-checksums', 'do not read the inputs to compare their sha256')
    .option('--no-tools', 'do not check the host tools')
    .option('--json', 'print JSON lines: the result (or the problems) as one object')
    .option('-q, --quiet', 'print nothing when all is well')
    .action(async (opts: ValidateOptions) => {
      const out = setProcessOutput({ json: opts.json ?? false, quiet: opts.quiet ?? false });
      const r = await loadAnswers(opts.answers, { overrides: overridesFromFlags(opts), force: opts.force ?? false });
      const errors = [...r.errors];
      const warnings = [...r.warnings];
      if (r.answers && opts.checksums) {
        const sums = await checkChecksums(r.answers);
        errors.push(...sums.errors);
        warnings.push(...sums.warnings);
      }
      const missingTools = opts.tools ? (await checkHostTools(['build'])).filter((t) => !t.present && !t.optional) : [];
      for (const w of warnings) out.warn(w);
      if (errors.length > 0) {
        const toolNote = missingTools.map((t) => `host tool ${t.name}: missing; apt-get install ${t.debianPackage}`);
        throw new ValidationError([...errors, ...toolNote], opts.answers);
      }
      if (missingTools.length > 0) await requireBuildTools();
      const a = r.answers!;
      out.result(
        { ok: true, file: opts.answers, warnings, summary: Object.fromEntries(summarize(a)) },
        opts.quiet
          ? []
          : [
              `${opts.answers}: valid${warnings.length ? ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : ''}`,
              ...summaryLines(a),
            ],
      );
    });
}
