// Why: `make-iso doctor` tells a user exactly which Debian packages are missing.
import type { Command } from 'commander';
import { checkHostTools, type ToolUse } from '../../host/tools.js';
import { ExitCode } from '../../errors.js';
import type { Cli } from '../context.js';

export function register(program: Command, cli: Cli): void {
  program
    .command('doctor')
    .description('check that every host tool make-iso needs is installed, and say which package to install')
    .option('--for <uses>', 'comma-separated subset of: build,usb,test', 'build,usb,test')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { for: string; json?: boolean }) => {
      const uses = opts.for.split(',').map((s) => s.trim()) as ToolUse[];
      const status = await checkHostTools(uses);
      const missing = status.filter((t) => !t.present);
      if (opts.json) {
        cli.out(JSON.stringify({ ok: missing.length === 0, tools: status }, null, 2));
      } else {
        for (const t of status) {
          cli.out(`${t.present ? 'ok     ' : 'MISSING'} ${t.name.padEnd(40)} ${t.use.padEnd(5)} ${t.why}`);
        }
        if (missing.length > 0) {
          const pkgs = [...new Set(missing.map((t) => t.debianPackage))].sort();
          cli.out(`\n${missing.length} missing. Install them with:\n  apt-get install ${pkgs.join(' ')}`);
        } else {
          cli.out('\nall host tools are present');
        }
      }
      cli.setExitCode(missing.length === 0 ? ExitCode.ok : ExitCode.missingTool);
    });
}
