// Why: one table of every host tool make-iso uses, which Debian package provides it, and
// why. The table lives in data/host-tools.tsv, shared with scripts/setup.sh (which installs
// its packages); `make-iso doctor`, MissingToolError and the docs/setup.md table all read it here.
import { readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../version.js';

export const TOOL_USES = ['build', 'usb', 'test'] as const;
export type ToolUse = (typeof TOOL_USES)[number];

const hostToolSchema = z.strictObject({
  /** Executable name on PATH, or an absolute file path for data files. */
  name: z.string().min(1),
  debianPackage: z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/),
  use: z.enum(TOOL_USES),
  /** optional: make-iso works without it (slower, or fewer formats). */
  optional: z.boolean(),
  why: z.string().min(1),
});
export type HostTool = z.infer<typeof hostToolSchema>;

export const HOST_TOOLS_FILE = join(projectRoot, 'data', 'host-tools.tsv');

/** Parses host-tools.tsv: '#' comment lines, then a header, then tool/package/use/need/why rows. */
export function parseHostTools(text: string): HostTool[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const [header, ...rows] = lines;
  if (header !== 'tool\tpackage\tuse\tneed\twhy') throw new Error(`host-tools.tsv: unexpected header "${header}"`);
  return rows.map((line, i) => {
    const [name, debianPackage, use, need, why, ...extra] = line.split('\t');
    if (extra.length > 0 || (need !== 'required' && need !== 'optional')) {
      throw new Error(`host-tools.tsv row ${i + 1}: want 5 tab-separated fields with need required|optional`);
    }
    return hostToolSchema.parse({ name, debianPackage, use, optional: need === 'optional', why });
  });
}

export const HOST_TOOLS: readonly HostTool[] = parseHostTools(readFileSync(HOST_TOOLS_FILE, 'utf8'));

/** The Debian package that provides a tool, for error messages. */
export function packageForTool(name: string): string {
  return HOST_TOOLS.find((t) => t.name === name || t.name.endsWith(`/${name}`))?.debianPackage ?? name;
}

/** Parses `doctor --for`: a comma-separated list of uses, and the words that are not one. */
export function parseToolUses(list: string): { uses: ToolUse[]; unknown: string[] } {
  const words = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const isUse = (w: string): w is ToolUse => (TOOL_USES as readonly string[]).includes(w);
  return { uses: words.filter(isUse), unknown: words.filter((w) => !isUse(w)) };
}

/** The package table of docs/setup.md: one row per Debian package, with its tools and what for. */
export function hostPackagesMarkdown(tools: readonly HostTool[] = HOST_TOOLS): string {
  const byPackage = new Map<string, HostTool[]>();
  for (const t of tools) byPackage.set(t.debianPackage, [...(byPackage.get(t.debianPackage) ?? []), t]);
  const rows = [...byPackage].map(([pkg, ts]) => {
    const names = ts.map((t) => `\`${t.name.split('/').pop() ?? t.name}\``).join(', ');
    const why = ts.map((t) => t.why).join('; ');
    const need = ts.every((t) => t.optional) ? 'optional' : 'required';
    return `| ${pkg} | ${names} | ${ts[0]?.use ?? ''} | ${need} | ${why.replaceAll('|', '\\|')} |`;
  });
  return ['| package | tools | use | need | needed for |', '|---|---|---|---|---|', ...rows].join('\n');
}

export interface HostToolStatus extends HostTool {
  present: boolean;
}

async function isPresent(tool: HostTool): Promise<boolean> {
  if (tool.name.startsWith('/')) {
    return access(tool.name).then(
      () => true,
      () => false,
    );
  }
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      await access(`${dir}/${tool.name}`);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

export async function checkHostTools(uses: readonly ToolUse[] = TOOL_USES): Promise<HostToolStatus[]> {
  const wanted = HOST_TOOLS.filter((t) => uses.includes(t.use));
  return Promise.all(wanted.map(async (t) => ({ ...t, present: await isPresent(t) })));
}
