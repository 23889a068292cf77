// Why: `make-iso inspect ISO` shows what an installer ISO holds, never any secret.
import type { Command } from 'commander';
import { listNodes } from '../../answers/fleet.js';
import { inspectIso } from '../../iso/inspect.js';
import type { Cli } from '../context.js';

export function register(program: Command, cli: Cli): void {
  program
    .command('inspect')
    .description(
      'show what an installer ISO holds: boot modes, kernel, kernel args, installer, OS image, masked services, node entries',
    )
    .argument('<iso>', 'the ISO file (or a USB device it was written to)')
    .option('--json', 'print the result as JSON')
    .action(async (iso: string, opts: { json?: boolean }) => {
      const info = await inspectIso(iso);
      if (opts.json) {
        cli.out(JSON.stringify(info, null, 2));
        return;
      }
      const m = info.manifest;
      const rows: Array<[string, string]> = [
        ['ISO', `${info.path} (${(info.size / 2 ** 20).toFixed(1)} MiB)`],
        ['volume id', info.volid],
        ['boot modes', info.bootModes.join(', ') || 'none found'],
      ];
      if (!m) {
        rows.push(['make-iso', 'no manifest: this ISO was not made by make-iso']);
      } else {
        rows.push(
          ['made by', `make-iso ${m.makeIso.version}`],
          ['bootkit', `${m.bootkit.source} (sha256 ${m.bootkit.sha256})`],
          ['kernel', `${m.bootkit.kernel.version} (${m.bootkit.kernel.name})`],
          ['kernel args', m.kernelArgs.join(' ')],
          ['initramfs', `${m.initramfsMode} mode`],
          ['services masked', m.services.masked.join(', ') || 'none'],
          ['services found', m.services.found.join(', ') || 'none'],
          ['OS image', `${m.osImage.isoPath} (${m.osImage.size} bytes, sha256 ${m.osImage.sha256})`],
          ['answers digest', m.answers.digest],
        );
        const nodes = listNodes(m.answers.redacted);
        if (nodes.length > 0) rows.push(['nodes', `${nodes.length} (one medium for many machines)`]);
        for (const n of nodes) rows.push([`node ${n.name}`, `match ${n.match}; hostname ${n.hostname}`]);
      }
      const width = Math.max(...rows.map(([k]) => k.length));
      for (const [k, v] of rows) cli.out(`${k.padEnd(width)}  ${v}`);
    });
}
