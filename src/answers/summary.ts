// Why: a short human summary of validated answers (no secrets), shown by `validate` and before the
// wizard saves and builds, so a user sees what the node will get before anything happens.
import { redactUrl } from '../render/installer-config.js';
import type { Answers } from './schema.js';

function list(xs: readonly string[]): string {
  return xs.length ? xs.join(', ') : 'none';
}

export function describeDisk(a: Answers): string {
  const d = a.disk;
  const rules: string[] = [];
  const globs: Array<[string, readonly string[]]> = [
    ['by-id', d.byId],
    ['by-path', d.byPath],
    ['serial', d.serial],
    ['wwn', d.wwn],
    ['model', d.model],
  ];
  for (const [name, pats] of globs) if (pats.length) rules.push(`${name} ${pats.join('|')}`);
  if (d.transport.length) rules.push(`transport ${d.transport.join('|')}`);
  if (d.minGiB !== undefined || d.maxGiB !== undefined) rules.push(`size ${d.minGiB ?? 0}-${d.maxGiB ?? '∞'} GiB`);
  if (d.rotational !== undefined) rules.push(d.rotational ? 'spinning' : 'solid-state');
  const which = rules.length === 0 ? 'any disk' : `disks matching ${d.match} of: ${rules.join('; ')}`;
  return `the ${d.pick} of ${which}; ${d.wipeExisting ? 'may overwrite a disk with partitions' : 'disks with partitions are skipped'}`;
}

/** `label: value` lines. */
export function summarize(a: Answers): Array<[string, string]> {
  const n = a.network;
  const bootkit = a.bootkit.archive ?? `${a.bootkit.kernel ?? '?'} + ${a.bootkit.initramfs ?? '?'}`;
  const login = [
    a.user.passwordHash ? 'password' : null,
    a.user.sshKeys.length ? `${a.user.sshKeys.length} ssh key${a.user.sshKeys.length === 1 ? '' : 's'}` : null,
  ].filter(Boolean);
  const extras = a.cloudInit;
  return [
    ['bootkit', bootkit],
    ['OS image', a.osImage.path],
    ['output', a.output.path],
    ['user', `${a.user.name} (${login.join(' + ') || 'no login'})`],
    ['hostname', a.hostname ?? '(image default)'],
    [
      'network',
      n.mode === 'dhcp'
        ? `DHCP${n.interface ? ` on ${n.interface}` : ''}${n.dns.length ? `, DNS ${n.dns.join(', ')}` : ''}`
        : `static ${n.address ?? '?'}/${n.prefix ?? '?'} via ${n.gateway ?? '?'}${n.interface ? ` on ${n.interface}` : ''}, DNS ${list(n.dns)}`,
    ],
    [
      'proxy',
      a.proxy.http || a.proxy.https ? `${redactUrl(a.proxy.http) ?? '-'} / ${redactUrl(a.proxy.https) ?? '-'}` : 'none',
    ],
    ['NTP', list(a.ntp.servers)],
    ['host type', a.hostType],
    ['target disk', describeDisk(a)],
    ['LVM', a.lvm.sizeGiB ? `${a.lvm.sizeGiB} GiB` : 'none'],
    ['hugepages', a.hugepages ? `${a.hugepages} x 2 MiB` : 'none'],
    [
      'cloud-init',
      `${extras.services.enable.length} enabled, ${extras.services.disable.length} disabled units, ${extras.writeFiles.length} files, ${extras.runcmd.length} commands`,
    ],
    ['masked units', list(a.provisioningServices)],
    ['console', a.console ? `${a.console.port} at ${a.console.speed}` : 'screen only'],
    ['kernel args', list(a.kernelArgs)],
    ['after install', a.afterInstall],
    ['user apps', a.userAppsDir ?? 'none'],
    ['initramfs', `${a.mode}, tmpfs ${a.tmpfsSize}`],
    ...(a.nodes ? [['nodes', nodesText(a.nodes)] as [string, string]] : []),
  ];
}

/** `3 entries (a, b, spare; default spare)`: a fleet medium's entries at a glance. */
function nodesText(nodes: NonNullable<Answers['nodes']>): string {
  const names = nodes.map((n) => n.name);
  const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')}, ...` : names.join(', ');
  const def = nodes.find((n) => n.default)?.name;
  return `${nodes.length} ${nodes.length === 1 ? 'entry' : 'entries'} (${shown}${def ? `; default ${def}` : ''}); see docs/fleet-media.md`;
}

export function summaryLines(a: Answers, indent = '  '): string[] {
  const rows = summarize(a);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${`${k}:`.padEnd(width + 2)}${v}`);
}
