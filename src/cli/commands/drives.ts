// Why: `make-iso drives` shows the drives an ISO can be written to (removable/USB by default),
// so users pick a stick by model and serial instead of guessing /dev/sdX.
import type { Command } from 'commander';
import { formatBytes } from '../../io/size.js';
import { listDrives, type Drive } from '../../usb/drives.js';
import type { Cli } from '../context.js';

function mounted(d: Drive): string {
  const lines = d.parts.filter((p) => p.mountpoints.length > 0).map((p) => `${p.path} on ${p.mountpoints.join(',')}`);
  if (d.mountpoints.length > 0 && lines.length === 0) lines.push(d.mountpoints.join(','));
  return lines.join('; ') || '-';
}

/** The table `make-iso drives` prints (exported for tests). */
export function drivesTable(drives: Drive[], all: boolean): string[] {
  const rows = drives.map((d) => [
    d.path,
    formatBytes(d.size),
    d.transport ?? (d.type === 'loop' ? 'loop' : '-'),
    d.isRemovable ? 'yes' : 'no',
    [d.vendor, d.model].filter(Boolean).join(' ') || '-',
    d.serial ?? '-',
    mounted(d),
    ...(all ? [d.systemReasons.length > 0 ? `system: ${d.systemReasons.join(', ')}` : ''] : []),
  ]);
  const head = ['PATH', 'SIZE', 'TRAN', 'REMOVABLE', 'MODEL', 'SERIAL', 'MOUNTED', ...(all ? ['NOTE'] : [])];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows].map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

export function register(program: Command, cli: Cli): void {
  program
    .command('drives')
    .description(
      'list removable and USB drives an ISO can be written to (system drives are never listed without --all)',
    )
    .option('--all', 'list every drive, including system and internal drives (marked)')
    .option('--json', 'print the drives as JSON')
    .action(async (opts: { all?: boolean; json?: boolean }) => {
      const all = opts.all ?? false;
      const drives = await listDrives({ all });
      if (opts.json) {
        cli.out(JSON.stringify(drives, null, 2));
        return;
      }
      if (drives.length === 0) {
        cli.out(
          all
            ? 'no drives found'
            : "no removable or USB drives found; plug one in, or run 'make-iso drives --all' to see every drive",
        );
        return;
      }
      for (const line of drivesTable(drives, all)) cli.out(line);
    });
}
