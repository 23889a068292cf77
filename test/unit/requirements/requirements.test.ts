// Why: requirements.tsv is the one list of what the node needs; these tests fail when a script
// calls a tool the list lacks, when a listed tool is no longer used, and when the bash reader
// (the node's preflight) and the TypeScript reader (the build's check) read it differently.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DOC_BEGIN,
  DOC_END,
  REQUIREMENTS_FILE,
  describeRequirement,
  loadRequirements,
  parseRequirements,
  requirementsMarkdown,
} from '../../../src/requirements.js';
import { projectRoot } from '../../../src/version.js';
import { installerCommands, requirementsParity, scriptCommands } from '../../helpers/script-commands.js';
import { SCRIPTS_DIR, bash, tempDir } from '../installer/run-bash.js';

const tmp = tempDir('make-iso-req-');
afterAll(() => tmp.cleanup());
const rows = loadRequirements();
const tools = rows.filter((r) => r.kind === 'tool').map((r) => r.name);

/** The bash reader's view of a tsv: "kind name when modules rpm deb" lines. */
function bashRows(file: string): string[] {
  const r = bash('set -euo pipefail; source lib/log.sh; source lib/requirements.sh; req_load "$1"; req_dump', [file]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

const tsRows = (text: string) =>
  parseRequirements(text).map((r) => [r.kind, r.name, r.when, r.modules.join('|') || '-', r.rpm, r.deb].join(' '));

describe('requirements.tsv against the installer scripts', () => {
  it('lists every external command the scripts call, and nothing they do not use', () => {
    expect(requirementsParity(SCRIPTS_DIR, tools)).toEqual({ unlisted: [], unused: [] });
  });

  it('drops what no script calls (gawk, ifconfig)', () => {
    expect(tools).not.toContain('gawk');
    expect(tools).not.toContain('ifconfig');
    expect(tools).toEqual(expect.arrayContaining(['sfdisk', 'wipefs', 'mkfs.ext4', 'modprobe']));
  });

  it('names the kernel capabilities the install relies on', () => {
    const kernel = rows.filter((r) => r.kind !== 'tool').map((r) => r.name);
    expect(kernel).toEqual(
      expect.arrayContaining([
        'ext4',
        'vfat',
        'iso9660',
        'crc32c',
        'nvme',
        'ahci',
        'usb_storage',
        'xhci_pci',
        'virtio_blk',
        'virtio_scsi',
        'efivarfs',
      ]),
    );
  });

  it('the parity check fails for a tool called but not listed, and for a listed tool nobody calls', () => {
    const dir = join(tmp.dir, 'scripts');
    mkdirSync(join(dir, 'lib'), { recursive: true });
    writeFileSync(
      join(dir, 'lib/x.sh'),
      [
        '#!/usr/bin/env bash',
        '# sfdisk in a comment is not a call',
        'f() { run sfdisk --dump "$1" | head -n1; }',
        'say "wipefs in a message is not a call"',
        'out=$(lsblk -P "$(readlink -f x)")',
        'case $t in ata | sata) t=sata ;; esac',
        'f /dev/x && partx -a x',
      ].join('\n'),
    );
    expect([...scriptCommands(readFileSync(join(dir, 'lib/x.sh'), 'utf8')).keys()].sort()).toEqual([
      'head',
      'lsblk',
      'partx',
      'readlink',
      'say',
      'sfdisk',
    ]);
    const p = requirementsParity(dir, ['bash', 'env', 'sfdisk', 'head', 'lsblk', 'readlink', 'say', 'wipefs']);
    expect(p.unlisted).toEqual(['partx (lib/x.sh:7)']);
    expect(p.unused).toEqual(['wipefs']);
  });

  it('finds the commands where the installer really calls them', () => {
    const calls = installerCommands(SCRIPTS_DIR);
    const sfdisk = calls.get('sfdisk') ?? [];
    expect(sfdisk.length).toBeGreaterThan(0);
    for (const where of sfdisk) expect(where).toMatch(/^lib\/image\.sh:\d+$/);
    expect(calls.has('req_preflight')).toBe(false); // functions are not tools
  });
});

describe('the two readers of requirements.tsv', () => {
  it('read the shipped file identically', () => {
    expect(bashRows(REQUIREMENTS_FILE)).toEqual(tsRows(readFileSync(REQUIREMENTS_FILE, 'utf8')));
  });

  it('still agree on a file with one more row of each kind', () => {
    const text =
      readFileSync(REQUIREMENTS_FILE, 'utf8') +
      'tool\tfoo\tlvm\t-\tfoo-rpm\tfoo-deb\ta test row\n' +
      'module\tbar\talways\tbar|bar_x\tkernel\tlinux-image-amd64\ta test row\n';
    const f = tmp.file('more.tsv', text);
    const b = bashRows(f);
    expect(b).toEqual(tsRows(text));
    expect(b.slice(-2)).toEqual([
      'tool foo lvm - foo-rpm foo-deb',
      'module bar always bar|bar_x kernel linux-image-amd64',
    ]);
  });

  it('the TypeScript reader refuses malformed rows with the line number', () => {
    const head = 'kind\tname\twhen\tmodules\trpm\tdeb\tused\n';
    expect(() => parseRequirements(head + 'tool\tx\tsometimes\t-\tx\tx\tu\n')).toThrow(/:2: when/);
    expect(() => parseRequirements(head + 'module\tx\talways\t-\tk\tk\tu\n')).toThrow(
      /:2: .*filesystems name at least one/,
    );
    expect(() => parseRequirements(head + 'tool\tx\talways\t-\tx\tx\n')).toThrow(/:2: 6 columns/);
    expect(() => parseRequirements(head + 'tool\tx\talways\t-\tx\tx\tu\n'.repeat(2))).toThrow(
      /:3: tool:x is listed twice/,
    );
    expect(() => parseRequirements('tool\tx\n')).toThrow(/header/);
  });

  it('describes an item with its RPM and Debian packages', () => {
    expect(describeRequirement(rows.find((r) => r.name === 'sfdisk')!)).toBe('sfdisk (util-linux / fdisk)');
    expect(describeRequirement(rows.find((r) => r.name === 'crc32c')!)).toBe(
      'module crc32c (kernel / linux-image-amd64)',
    );
  });
});

describe('docs/requirements.md', () => {
  it('carries the table of requirements.tsv (regenerate: npm run build && node scripts/requirements-doc.mjs)', () => {
    const doc = readFileSync(join(projectRoot, 'docs/requirements.md'), 'utf8');
    const block = doc.slice(doc.indexOf(DOC_BEGIN) + DOC_BEGIN.length, doc.indexOf(DOC_END));
    // compare cells, not the spacing a formatter may add
    const norm = (t: string) =>
      t
        .split('\n')
        .map((l) =>
          l
            .trim()
            .replace(/\s*\|\s*/g, '|')
            .replace(/\|-+/g, '|-'),
        )
        .filter(Boolean);
    expect(doc.indexOf(DOC_BEGIN)).toBeGreaterThan(0);
    expect(norm(block)).toEqual(norm(requirementsMarkdown(rows)));
  });
});
