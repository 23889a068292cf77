// Why: `make-iso doctor` tells a user exactly which Debian packages are missing.
import type { Command } from 'commander';
import { checkHostTools, hostPackagesMarkdown, parseToolUses, TOOL_USES } from '../../host/tools.js';
import { ExitCode, UserError } from '../../errors.js';
import type { Cli } from '../context.js';

export function register(program: Command, cli: Cli): void {
  program
    .command('doctor')
    .description('check that every host tool make-iso needs is installed, and say which package to install')
    .option('--for <uses>', `comma-separated subset of: ${TOOL_USES.join(',')}`, TOOL_USES.join(','))
    .option('--json', 'print the result as JSON')
    .option('--markdown', "print the host package table (docs/setup.md's) from data/host-tools.tsv, and check nothing")
    .action(async (opts: { for: string; json?: boolean; markdown?: boolean }) => {
      if (opts.markdown) {
        cli.out(hostPackagesMarkdown());
        return;
      }
      const { uses, unknown } = parseToolUses(opts.for);
      if (unknown.length > 0 || uses.length === 0) {
        const what = unknown.length > 0 ? `unknown ${unknown.map((w) => `"${w}"`).join(', ')}` : 'nothing given';
        throw new UserError(`--for: ${what}; valid: ${TOOL_USES.join(', ')}`);
      }
      const status = await checkHostTools(uses);
      const missing = status.filter((t) => !t.present && !t.optional);
      if (opts.json) {
        cli.out(JSON.stringify({ ok: missing.length === 0, tools: status }, null, 2));
      } else {
        for (const t of status) {
          const mark = t.present ? 'ok     ' : t.optional ? 'absent ' : 'MISSING';
          cli.out(`${mark} ${t.name.padEnd(40)} ${t.use.padEnd(5)} ${t.why}${t.optional ? ' (optional)' : ''}`);
        }
        const absentOptional = status.filter((t) => !t.present && t.optional);
        if (missing.length > 0) {
          const pkgs = [...new Set(missing.map((t) => t.debianPackage))].sort();
          cli.out(`\n${missing.length} missing. Install them with:\n  apt-get install ${pkgs.join(' ')}`);
        } else {
          cli.out('\nall required host tools are present');
        }
        if (absentOptional.length > 0) {
          const pkgs = [...new Set(absentOptional.map((t) => t.debianPackage))].sort();
          cli.out(`optional, not installed: apt-get install ${pkgs.join(' ')}`);
        }
      }
      cli.setExitCode(missing.length === 0 ? ExitCode.ok : ExitCode.missingTool);
    });
}
