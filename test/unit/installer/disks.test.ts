// Why: the target-disk choice is the installer's most dangerous decision; check every rule on captured lsblk data.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bash, gib, lsblkLine, nvme, part, sata, tempDir, usb, virtio, type LsblkRow } from './run-bash.js';

const NO_RULES = [
  'MI_DISK_BY_ID=()',
  'MI_DISK_BY_PATH=()',
  'MI_DISK_SERIAL=()',
  'MI_DISK_WWN=()',
  'MI_DISK_MODEL=()',
  'MI_DISK_TRANSPORT=()',
  "MI_DISK_MIN_GIB=''",
  "MI_DISK_MAX_GIB=''",
  "MI_DISK_ROTATIONAL=''",
  'MI_DISK_MATCH=all',
  'MI_DISK_PICK=smallest',
  'MI_DISK_WIPE_EXISTING=no',
].join('\n');

interface Choice {
  status: number;
  chosen: string;
  error: string;
  verdicts: Record<string, string>;
  rows: string[];
  ignored: string;
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

function choose(
  rows: LsblkRow[],
  opts: { rules?: string; media?: string; required?: number; links?: string[] } = {},
): Choice {
  const lsblk = tmp.file('lsblk.txt', rows.map(lsblkLine).join('\n') + '\n');
  const links = tmp.file('links.txt', (opts.links ?? []).join('\n') + '\n');
  const script = `set -euo pipefail
source lib/disks.sh
${NO_RULES}
${opts.rules ?? ''}
rc=0
disks_choose "$1" "$2" "$3" "$4" || rc=$?
for row in "\${DISK_ROWS[@]}"; do printf 'ROW %s\\n' "$row"; done
for k in "\${!DISK_VERDICT[@]}"; do printf 'V %s %s\\n' "$k" "\${DISK_VERDICT[$k]}"; done
printf 'CHOSEN=%s\\nERROR=%s\\nIGNORED=%s\\n' "$CHOSEN_DISK" "$CHOOSE_ERROR" "\${DISKS_IGNORED[*]}"
exit "$rc"`;
  const r = bash(script, [lsblk, links, opts.media ?? '', String(opts.required ?? gib(1))]);
  expect(r.stderr).toBe('');
  const lines = r.stdout.split('\n');
  const verdicts: Record<string, string> = {};
  for (const l of lines.filter((x) => x.startsWith('V '))) {
    const [, name, ...rest] = l.split(' ');
    verdicts[name ?? ''] = rest.join(' ');
  }
  const value = (key: string): string => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
  return {
    status: r.status,
    chosen: value('CHOSEN'),
    error: value('ERROR'),
    verdicts,
    rows: lines.filter((l) => l.startsWith('ROW ')).map((l) => l.slice(4)),
    ignored: value('IGNORED'),
  };
}

describe('default policy', () => {
  const machine = [nvme('nvme0n1', gib(16)), nvme('nvme1n1', gib(8)), sata('sda', gib(4)), virtio('vda', gib(2))];

  it('picks the smallest NVMe disk and prints a table with a reason per rejected disk', () => {
    const c = choose(machine);
    expect(c.status).toBe(0);
    expect(c.chosen).toBe('nvme1n1');
    expect(c.verdicts).toEqual({
      nvme1n1: 'chosen',
      nvme0n1: 'rejected: not the smallest match',
      sda: expect.stringMatching(/^rejected: lower preference/),
      vda: expect.stringMatching(/^rejected: lower preference/),
    });
    expect(c.rows[0]).toMatch(/^DISK\s+SIZE\s+TRAN\s+ROTA\s+RM\s+MODEL\s+SERIAL\s+VERDICT$/);
    expect(c.rows.find((r) => r.startsWith('nvme1n1'))).toMatch(/8\.0 GiB nvme .*chosen$/);
    expect(c.rows).toHaveLength(5);
  });

  it('prefers NVMe over a smaller SATA disk, and SATA over virtio', () => {
    expect(choose([sata('sda', gib(2)), nvme('nvme0n1', gib(64))]).chosen).toBe('nvme0n1');
    expect(choose([virtio('vda', gib(2)), sata('sda', gib(64))]).chosen).toBe('sda');
    expect(choose([virtio('vda', gib(20)), virtio('vdb', gib(10))]).chosen).toBe('vdb');
  });

  it('fails on a tie instead of guessing', () => {
    const c = choose([nvme('nvme0n1', gib(8)), nvme('nvme1n1', gib(8)), sata('sda', gib(4))]);
    expect(c.status).toBe(1);
    expect(c.chosen).toBe('');
    expect(c.error).toMatch(/several disks tie \(nvme0n1 nvme1n1, 8\.0 GiB each\); add a rule/);
    expect(c.verdicts.nvme0n1).toMatch(/^rejected: tie/);
    expect(c.verdicts.nvme1n1).toMatch(/^rejected: tie/);
  });

  it('fails when no disk is left', () => {
    const c = choose([usb('sda', gib(16))]);
    expect(c.status).toBe(1);
    expect(c.error).toMatch(/^no disk matches the disk rules/);
  });

  it('never offers the install media, even as the only NVMe disk', () => {
    const c = choose([nvme('nvme0n1', gib(8)), nvme('nvme1n1', gib(16))], { media: 'nvme0n1' });
    expect(c.chosen).toBe('nvme1n1');
    expect(c.verdicts.nvme0n1).toMatch(/^rejected: install media/);
    const cd = choose([{ name: 'sr0', type: 'rom', size: gib(1), rm: 1 }, sata('sda', gib(8))], { media: 'sr0' });
    expect(cd.chosen).toBe('sda');
    expect(cd.verdicts.sr0).toMatch(/install media; optical drive/);
  });

  it('rejects USB and removable disks unless the transport rule lists usb', () => {
    const rows = [usb('sdb', gib(4)), { ...sata('sda', gib(8)), rm: 1 as const }, virtio('vda', gib(32))];
    const c = choose(rows);
    expect(c.chosen).toBe('vda');
    expect(c.verdicts.sdb).toMatch(/removable or USB/);
    expect(c.verdicts.sda).toMatch(/removable or USB/);
    expect(choose(rows, { rules: 'MI_DISK_TRANSPORT=(usb)' }).chosen).toBe('sdb');
  });

  it('rejects a disk with partitions unless wiping is opted in, and a mounted disk always', () => {
    const rows = [
      nvme('nvme0n1', gib(8)),
      part('nvme0n1p1', 'nvme0n1'),
      part('nvme0n1p2', 'nvme0n1'),
      sata('sda', gib(8)),
    ];
    const c = choose(rows);
    expect(c.chosen).toBe('sda');
    expect(c.verdicts.nvme0n1).toBe('rejected: has 2 partition(s) (set the wipe-existing option to overwrite)');
    expect(choose(rows, { rules: 'MI_DISK_WIPE_EXISTING=yes' }).chosen).toBe('nvme0n1');

    const pv = [nvme('nvme0n1', gib(8), 'A', { fstype: 'LVM2_member' }), sata('sda', gib(8))];
    expect(choose(pv).verdicts.nvme0n1).toMatch(/holds data \(LVM2_member\)/);

    const mounted = [nvme('nvme0n1', gib(8)), part('nvme0n1p1', 'nvme0n1', { mountpoint: '/mnt' })];
    const m = choose(mounted, { rules: 'MI_DISK_WIPE_EXISTING=yes' });
    expect(m.status).toBe(1);
    expect(m.verdicts.nvme0n1).toMatch(/in use \(mounted: \/mnt\)/);
  });

  it('rejects disks too small for the image (+ LVM) and read-only disks', () => {
    const c = choose([nvme('nvme0n1', gib(2)), nvme('nvme1n1', gib(8), 'B', { ro: 1 }), sata('sda', gib(10))], {
      required: gib(4),
    });
    expect(c.chosen).toBe('sda');
    expect(c.verdicts.nvme0n1).toBe('rejected: too small (needs 4.0 GiB)');
    expect(c.verdicts.nvme1n1).toBe('rejected: read-only');
  });

  it('ignores virtual and empty devices (loop, zram, nbd, size 0) without listing them', () => {
    const c = choose([
      { name: 'loop0', type: 'loop', size: gib(1) },
      { name: 'zram0', size: 0 },
      { name: 'nbd0', size: 0 },
      sata('sda', gib(8)),
    ]);
    expect(c.chosen).toBe('sda');
    expect(c.ignored).toBe('loop0 zram0 nbd0');
    expect(c.rows).toHaveLength(2);
  });
});

describe('rules', () => {
  const machine: LsblkRow[] = [
    nvme('nvme0n1', gib(16), 'NV-BIG'),
    nvme('nvme1n1', gib(8), 'NV-SMALL'),
    sata('sda', gib(4), 'QM00005', { wwn: '0x5000C500ABCDEF01', model: 'Samsung SSD 870', rota: 0 }),
    sata('sdb', gib(32), 'WD-123', { model: 'WDC WD10EZEX' }),
    virtio('vda', gib(2)),
  ];
  const links = [
    'by-id nvme-QEMU_NVMe_Ctrl_NV-BIG nvme0n1',
    'by-id nvme-QEMU_NVMe_Ctrl_NV-SMALL nvme1n1',
    'by-id nvme-QEMU_NVMe_Ctrl_NV-SMALL-part1 nvme1n1p1',
    'by-id ata-Samsung_SSD_870_QM00005 sda',
    'by-id wwn-0x5000c500abcdef01 sda',
    'by-path pci-0000:00:04.0-nvme-1 nvme0n1',
    'by-path pci-0000:00:05.0-nvme-1 nvme1n1',
    'by-path pci-0000:00:1f.2-ata-1 sda',
    'by-path pci-0000:00:1f.2-ata-2 sdb',
  ];

  it.each([
    ['by-id glob', "MI_DISK_BY_ID=('nvme-*BIG')", 'nvme0n1'],
    ['by-id with /dev/disk prefix', "MI_DISK_BY_ID=('/dev/disk/by-id/ata-Samsung*')", 'sda'],
    ['by-path', "MI_DISK_BY_PATH=('pci-0000:00:1f.2-ata-2')", 'sdb'],
    ['serial', "MI_DISK_SERIAL=('NV-BIG' 'nothing')", 'nvme0n1'],
    ['wwn (case-insensitive)', "MI_DISK_WWN=('0x5000c500abcdef01')", 'sda'],
    ['model glob with blanks', "MI_DISK_MODEL=('WDC *')", 'sdb'],
    ['transport', 'MI_DISK_TRANSPORT=(sata)', 'sda'],
    ['transport virtio', 'MI_DISK_TRANSPORT=(virtio)', 'vda'],
    ['size range', "MI_DISK_MIN_GIB='10' MI_DISK_MAX_GIB='20'", 'nvme0n1'],
    ['minimum size only', "MI_DISK_MIN_GIB='20'", 'sdb'],
    ['rotational yes', "MI_DISK_ROTATIONAL='yes'", 'vda'],
    ['rotational no + largest', "MI_DISK_ROTATIONAL='no' MI_DISK_PICK=largest", 'nvme0n1'],
  ])('%s', (_name, rules, expected) => {
    const c = choose(machine, { rules, links });
    expect(c.status, c.rows.join('\n')).toBe(0);
    expect(c.chosen).toBe(expected);
  });

  it('explicit rules drop the NVMe > SATA preference: the smallest match wins', () => {
    expect(choose(machine, { rules: 'MI_DISK_TRANSPORT=(nvme sata)', links }).chosen).toBe('sda');
  });

  it('all: every set rule must match; the failing rules are named', () => {
    const c = choose(machine, { rules: "MI_DISK_MATCH=all MI_DISK_SERIAL=('NV-BIG') MI_DISK_TRANSPORT=(sata)", links });
    expect(c.status).toBe(1);
    expect(c.verdicts.nvme0n1).toBe('rejected: rules not matched: transport');
    expect(c.verdicts.sda).toBe('rejected: rules not matched: serial');
    expect(c.verdicts.vda).toBe('rejected: rules not matched: serial transport');
  });

  it('any: one matching rule is enough', () => {
    const c = choose(machine, { rules: "MI_DISK_MATCH=any MI_DISK_SERIAL=('NV-BIG') MI_DISK_TRANSPORT=(sata)", links });
    expect(c.status).toBe(0);
    expect(c.chosen).toBe('sda');
    expect(c.verdicts.nvme0n1).toBe('rejected: not the smallest match');
    expect(c.verdicts.nvme1n1).toBe('rejected: no rule matched (serial transport)');
    const largest = choose(machine, {
      rules: "MI_DISK_MATCH=any MI_DISK_PICK=largest MI_DISK_SERIAL=('NV-BIG') MI_DISK_TRANSPORT=(sata)",
      links,
    });
    expect(largest.chosen).toBe('sdb');
  });

  it('a pattern matches no disk that lacks the property (empty serial never matches *)', () => {
    const c = choose([virtio('vda', gib(8)), sata('sda', gib(16), 'S1')], { rules: "MI_DISK_SERIAL=('*')" });
    expect(c.chosen).toBe('sda');
    expect(c.verdicts.vda).toBe('rejected: rules not matched: serial');
  });

  it('hostile lsblk values and patterns are data: nothing runs, globs only match', () => {
    const marker = `${tmp.dir}/pwned`;
    const evil = nvme('nvme0n1', gib(8), `$(touch ${marker})`, { model: '`touch ' + marker + '` "quoted" \\x' });
    const c = choose([evil, nvme('nvme1n1', gib(8), 'plain')], {
      rules: `MI_DISK_SERIAL=('$(touch ${marker})')`,
    });
    expect(c.status).toBe(0);
    expect(c.chosen).toBe('nvme0n1');
    expect(c.rows.find((r) => r.startsWith('nvme0n1'))).toContain('`touch');
    const c2 = choose([evil], { rules: `MI_DISK_MODEL=('*"quoted"*')` });
    expect(c2.chosen).toBe('nvme0n1');
    expect(bash('test -e "$1"', [marker]).status).toBe(1);
  });
});

describe('partitions', () => {
  it.each([
    ['nvme0n1', '2', 'nvme0n1p2'],
    ['sda', '2', 'sda2'],
    ['loop0', '2', 'loop0p2'],
    ['mmcblk0', '2', 'mmcblk0p2'],
    ['vdb', '10', 'vdb10'],
    ['/dev/nvme1n1', '3', '/dev/nvme1n1p3'],
  ])('%s partition %s is %s', (disk, n, expected) => {
    const r = bash('source lib/disks.sh; disks_part_name "$1" "$2"', [disk, n]);
    expect(r.stdout).toBe(`${expected}\n`);
  });

  const records = (lines: string[]): string => tmp.file('parts.txt', lines.join('\n') + '\n');
  const byLabel = (file: string, label: string) =>
    bash('set -euo pipefail; source lib/disks.sh; disks_part_by_label "$1" "$2"', [file, label]);

  it('finds partitions by filesystem label or partition name, on that disk only', () => {
    const file = records([
      'PATH="/dev/nvme0n1p1" LABEL="ESP" PARTLABEL="esp" PARTTYPE="c12a7328-f81f-11d2-ba4b-00a0c93ec93b"',
      'PATH="/dev/nvme0n1p2" LABEL="rootfs" PARTLABEL="" PARTTYPE="0fc63daf-8483-4772-8e79-3d69d8477de4"',
      'PATH="/dev/nvme0n1p3" LABEL="" PARTLABEL="edge_persistent" PARTTYPE="0fc63daf-8483-4772-8e79-3d69d8477de4"',
      'PATH="/dev/nvme0n1p4" LABEL="a\\x22b" PARTLABEL="" PARTTYPE=""',
    ]);
    expect(byLabel(file, 'rootfs').stdout).toBe('/dev/nvme0n1p2\n');
    expect(byLabel(file, 'esp').stdout).toBe('/dev/nvme0n1p1\n');
    expect(byLabel(file, 'edge_persistent').stdout).toBe('/dev/nvme0n1p3\n');
    expect(byLabel(file, 'a"b').stdout).toBe('/dev/nvme0n1p4\n');
    expect(byLabel(file, 'missing').status).toBe(1);
  });

  it('finds the ESP by its GPT type when it has no label, and fails on two rootfs', () => {
    const file = records([
      'PATH="/dev/sda1" LABEL="" PARTLABEL="" PARTTYPE="C12A7328-F81F-11D2-BA4B-00A0C93EC93B"',
      'PATH="/dev/sda2" LABEL="rootfs" PARTLABEL="" PARTTYPE=""',
      'PATH="/dev/sda3" LABEL="rootfs" PARTLABEL="" PARTTYPE=""',
    ]);
    expect(byLabel(file, 'esp').stdout).toBe('/dev/sda1\n');
    expect(byLabel(file, 'rootfs').status).toBe(1);
  });
});
