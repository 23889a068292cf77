// Why: one declaration of what the installer needs on the node (installer-scripts/requirements.tsv).
// The build checks a bootkit against it; installer-scripts/lib/requirements.sh reads the same
// file on the node at step 1. This reader validates every row, so a typo fails loudly.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { projectRoot } from './version.js';

export const REQUIREMENTS_FILE = join(projectRoot, 'installer-scripts', 'requirements.tsv');
export const COLUMNS = ['kind', 'name', 'when', 'modules', 'rpm', 'deb', 'used'] as const;

const name = z.string().regex(/^[a-z0-9][a-z0-9._+-]*$/, 'a lowercase command or module name');
export const RequirementSchema = z
  .object({
    kind: z.enum(['tool', 'module', 'fs']),
    name,
    when: z.enum(['always', 'lvm', 'uefi', 'optional']),
    /** Kernel modules providing a fs/module row (any one of them); empty for tools. */
    modules: z.array(name),
    rpm: name,
    deb: name,
    used: z.string().min(1),
  })
  .refine((r) => (r.kind === 'tool') === (r.modules.length === 0), {
    message: 'tools have no modules ("-"); modules and filesystems name at least one',
  });
export type Requirement = z.infer<typeof RequirementSchema>;

/** Parses the tsv text: comments (#) and blank lines skipped, the header row checked. */
export function parseRequirements(text: string, where = 'requirements.tsv'): Requirement[] {
  const rows: Requirement[] = [];
  let header = false;
  const seen = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const cells = line.split('\t');
    if (!header) {
      if (cells.join('\t') !== COLUMNS.join('\t'))
        throw new Error(`${where}:${i + 1}: the header must be ${COLUMNS.join(' ')}`);
      header = true;
      return;
    }
    if (cells.length !== COLUMNS.length)
      throw new Error(`${where}:${i + 1}: ${cells.length} columns, want ${COLUMNS.length}`);
    const raw = Object.fromEntries(COLUMNS.map((c, k) => [c, cells[k]!]));
    const parsed = RequirementSchema.safeParse({ ...raw, modules: raw.modules === '-' ? [] : raw.modules!.split('|') });
    if (!parsed.success) {
      throw new Error(
        `${where}:${i + 1}: ${parsed.error.issues.map((x) => `${x.path.length ? `${x.path.join('.')}: ` : ''}${x.message}`).join('; ')}`,
      );
    }
    const key = `${parsed.data.kind}:${parsed.data.name}`;
    if (seen.has(key)) throw new Error(`${where}:${i + 1}: ${key} is listed twice`);
    seen.add(key);
    rows.push(parsed.data);
  });
  if (!header) throw new Error(`${where}: no header row`);
  return rows;
}

let cached: Requirement[] | undefined;
/** The requirements shipped with make-iso (read once). */
export function loadRequirements(path = REQUIREMENTS_FILE): Requirement[] {
  if (path !== REQUIREMENTS_FILE) return parseRequirements(readFileSync(path, 'utf8'), path);
  cached ??= parseRequirements(readFileSync(path, 'utf8'), path);
  return cached;
}

/** "sfdisk (util-linux / fdisk)": the item and its RPM and Debian packages. */
export function describeRequirement(r: Requirement): string {
  const pk = r.rpm === r.deb ? r.rpm : `${r.rpm} / ${r.deb}`;
  const what = r.kind === 'tool' ? r.name : `${r.kind === 'fs' ? 'filesystem' : 'module'} ${r.name}`;
  return `${what} (${pk})`;
}

const WHEN_TEXT: Record<Requirement['when'], string> = {
  always: 'always',
  lvm: 'with LVM',
  uefi: 'UEFI boot',
  optional: 'optional',
};

/** The Markdown table of docs/requirements.md (kept equal to the tsv by a unit test). */
export function requirementsMarkdown(rows: readonly Requirement[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const head =
    '| kind | name | needed | kernel modules | RPM (EMT) | Debian | where and why |\n|---|---|---|---|---|---|---|\n';
  return (
    head +
    rows
      .map(
        (r) =>
          `| ${r.kind} | \`${r.name}\` | ${WHEN_TEXT[r.when]} | ${r.modules.length ? cell(r.modules.join(' or ')) : ''} | ${r.rpm} | ${r.deb} | ${cell(r.used)} |`,
      )
      .join('\n') +
    '\n'
  );
}

export const DOC_BEGIN =
  '<!-- BEGIN generated from installer-scripts/requirements.tsv: node scripts/requirements-doc.mjs -->';
export const DOC_END = '<!-- END generated -->';
