// Why: data/host-tools.tsv is the one list of host tools. These tests fail when the code runs a
// tool the list lacks (it listed mformat while the code ran mmd, and once lacked tar), when setup.sh
// installs from another list, or when the package table in docs/setup.md is stale.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { HOST_TOOLS, hostPackagesMarkdown, parseHostTools, parseToolUses } from '../../../src/host/tools.js';
import { projectRoot } from '../../../src/version.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Tool names the code passes literally to the exec door (run, spawnTool, hasTool, filters). */
function toolsTheCodeRuns(): string[] {
  const call =
    /\b(?:run|spawnTool|hasTool|toolFilter|toolThrough|filter)\(\s*(?:[^,()]+\([^)]*\)\s*,\s*)?'([a-z0-9._-]+)'/g;
  const found = new Set<string>();
  for (const f of sourceFiles(join(projectRoot, 'src'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(call)) found.add(m[1]!);
  }
  return [...found].sort();
}

test('every tool the code runs is in data/host-tools.tsv', () => {
  const runs = toolsTheCodeRuns();
  expect(runs).toEqual(expect.arrayContaining(['mmd', 'grub-mkimage', 'xorriso', 'lz4', 'pigz', 'mkfs.fat']));
  const listed = new Set(HOST_TOOLS.map((t) => t.name));
  expect(runs.filter((t) => !listed.has(t))).toEqual([]);
});

test('build tools the code runs only when present are marked optional, and nothing else is', () => {
  const optional = HOST_TOOLS.filter((t) => t.optional).map((t) => t.name);
  expect(optional.sort()).toEqual(['lz4', 'pigz']);
});

test('one tool name per row and no tool listed twice (mkfs.fat, not mkfs.vfat too)', () => {
  const names = HOST_TOOLS.map((t) => t.name);
  expect(new Set(names).size).toBe(names.length);
  expect(names).not.toContain('mkfs.vfat');
  expect(names).not.toContain('mformat');
});

test('scripts/setup.sh installs exactly the packages of data/host-tools.tsv', () => {
  const fromBash = execFileSync('bash', ['-c', 'source scripts/lib.sh && make_iso_host_packages'], {
    cwd: projectRoot,
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  expect(fromBash).toEqual([...new Set(HOST_TOOLS.map((t) => t.debianPackage))]);
  // setup.sh asks for every use the table has; the container image (scripts/container-deps.sh)
  // for the build tools only
  const setup = readFileSync(join(projectRoot, 'scripts/setup.sh'), 'utf8');
  const call = /mapfile -t missing < <\(make_iso_missing_packages ([a-z ]+)\)/.exec(setup);
  expect(call?.[1]?.split(' ').sort()).toEqual([...new Set(HOST_TOOLS.map((t) => t.use))].sort());
  const buildOnly = execFileSync('bash', ['-c', 'source scripts/lib.sh && make_iso_host_packages build'], {
    cwd: projectRoot,
    encoding: 'utf8',
  })
    .trim()
    .split('\n');
  expect(buildOnly).toEqual([...new Set(HOST_TOOLS.filter((t) => t.use === 'build').map((t) => t.debianPackage))]);
  expect(buildOnly).not.toContain('qemu-system-x86');
});

test('the host package table in docs/setup.md is current (regenerate: make-iso doctor --markdown)', () => {
  const text = readFileSync(join(projectRoot, 'docs/setup.md'), 'utf8');
  const start = '<!-- host-packages:start -->';
  expect(text).toContain(start);
  const table = text.slice(text.indexOf(start) + start.length, text.indexOf('<!-- host-packages:end -->'));
  expect(table.trim()).toBe(hostPackagesMarkdown());
});

test('the table parser rejects rows without a need column or with an unknown use', () => {
  const head = 'tool\tpackage\tuse\tneed\twhy\n';
  expect(() => parseHostTools(`${head}xorriso\txorriso\tbuild\tISO\n`)).toThrow(/5 tab-separated fields/);
  expect(() => parseHostTools(`${head}xorriso\txorriso\tbild\trequired\tISO\n`)).toThrow();
  expect(parseHostTools(`# c\n${head}pigz\tpigz\tbuild\toptional\tfast\n`)).toEqual([
    { name: 'pigz', debianPackage: 'pigz', use: 'build', optional: true, why: 'fast' },
  ]);
});

test('doctor --for: unknown words are reported, not ignored', () => {
  expect(parseToolUses('build, usb')).toEqual({ uses: ['build', 'usb'], unknown: [] });
  expect(parseToolUses('bild')).toEqual({ uses: [], unknown: ['bild'] });
  expect(parseToolUses('build,tset')).toEqual({ uses: ['build'], unknown: ['tset'] });
});
