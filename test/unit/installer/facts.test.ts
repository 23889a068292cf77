// Why: installer-scripts/facts.tsv is the one home of the facts bash and TypeScript share. These
// tests check both sides read the same values, and pin the bugs of the three copies it replaced:
// the installer accepted a reserved user name (it only refused root), no side allowed the `mmc`
// transport that disks.sh reports, and disks.sh combined rules with `all` when the answers left
// disk.match unset although the schema's default is `any`.
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../src/answers/load.js';
import { shellAssignments } from '../../../src/render/shell.js';
import { DATA_PARTITION } from '../../../src/usb/data-partition.js';
import {
  DISK_MATCH_DEFAULT,
  DISK_TRANSPORTS,
  LOG_PARTITION_LABEL,
  NODE_CLOUD_INIT_SUFFIX,
  NODE_DIR,
  NODE_MATCH_CASELESS,
  NODE_MATCH_KINDS,
  NODE_MATCH_TABLE,
  RESERVED_USERS,
} from '../../../src/facts.js';
import { HASH as ANSWERS_HASH } from '../answers/helpers.js';
import { validEnv } from './install-env.js';
import { bash, gib, lsblkLine, nvme, sata, tempDir } from './run-bash.js';

function bashFacts(): Record<string, string> {
  const r = bash(`set -euo pipefail
source lib/facts.sh
printf 'reserved_users=%s\\n' "\${FACT_RESERVED_USERS[*]}"
printf 'disk_transports=%s\\n' "\${FACT_DISK_TRANSPORTS[*]}"
printf 'disk_match_default=%s\\n' "$FACT_DISK_MATCH_DEFAULT"
printf 'log_partition_label=%s\\n' "$FACT_LOG_LABEL"
printf 'node_match_kinds=%s\\n' "\${FACT_NODE_MATCH_KINDS[*]}"
printf 'node_match_caseless=%s\\n' "\${FACT_NODE_MATCH_CASELESS[*]}"
printf 'node_dir=%s\\n' "$FACT_NODE_DIR"
printf 'node_match_table=%s\\n' "$FACT_NODE_MATCH_TABLE"
printf 'node_cloud_init_suffix=%s\\n' "$FACT_NODE_CLOUD_INIT_SUFFIX"`);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('facts.tsv parity', () => {
  it('bash (lib/facts.sh) and TypeScript (src/facts.ts) read the same facts', () => {
    expect(bashFacts()).toEqual({
      reserved_users: [...RESERVED_USERS].join(' '),
      disk_transports: DISK_TRANSPORTS.join(' '),
      disk_match_default: DISK_MATCH_DEFAULT,
      log_partition_label: LOG_PARTITION_LABEL,
      node_match_kinds: NODE_MATCH_KINDS.join(' '),
      node_match_caseless: [...NODE_MATCH_CASELESS].join(' '),
      node_dir: NODE_DIR,
      node_match_table: NODE_MATCH_TABLE,
      node_cloud_init_suffix: NODE_CLOUD_INIT_SUFFIX,
    });
    expect(RESERVED_USERS.size).toBeGreaterThan(5);
    expect(DATA_PARTITION.fsLabel).toBe(LOG_PARTITION_LABEL);
  });
});

function configErrors(over: Record<string, string | string[]>): string[] {
  const tmp = tempDir();
  try {
    const file = tmp.file('install.env', shellAssignments(validEnv(over)));
    const r = bash(
      `set -euo pipefail
source lib/config.sh
config_load "$1" || true
for e in "\${CONFIG_ERRORS[@]}"; do printf '%s\\n' "$e"; done`,
      [file],
    );
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter((l) => l !== '');
  } finally {
    tmp.cleanup();
  }
}

describe('reserved user names', () => {
  it.each(['daemon', 'sshd', 'systemd-network'])(
    'the installer refuses %s, as the answers schema does',
    async (name) => {
      expect(configErrors({ MI_USER_NAME: name })).toEqual([
        expect.stringMatching(new RegExp(`MI_USER_NAME.*'${name}' is a system account`)),
      ]);
      const r = await parseAnswers(
        `bootkit: { archive: b.tar.gz }\nosImage: { path: o.raw.gz }\nuser: { name: ${name}, passwordHash: '${ANSWERS_HASH}' }\n`,
        '/tmp',
        { checkFiles: false },
      );
      expect(r.errors.join('\n')).toMatch(/user\.name/);
    },
  );

  it('the installer still accepts an ordinary name', () => {
    expect(configErrors({ MI_USER_NAME: 'edge' })).toEqual([]);
  });
});

describe('the mmc transport (eMMC / SD) that disks.sh reports', () => {
  it('is accepted by the answers schema and by the installer', async () => {
    const r = await parseAnswers(
      `bootkit: { archive: b.tar.gz }\nosImage: { path: o.raw.gz }\nuser: { name: edge, passwordHash: '${ANSWERS_HASH}' }\ndisk: { transport: [mmc] }\n`,
      '/tmp',
      { checkFiles: false },
    );
    expect(r.errors).toEqual([]);
    expect(configErrors({ MI_DISK_TRANSPORT: ['mmc'] })).toEqual([]);
    expect(configErrors({ MI_DISK_TRANSPORT: ['floppy'] })).toEqual([expect.stringMatching(/MI_DISK_TRANSPORT/)]);
  });

  it('a transport rule of mmc chooses the eMMC disk', () => {
    const tmp = tempDir();
    try {
      const mmc = { name: 'mmcblk0', size: gib(32), subsystems: 'block:mmc:mmc_host:pci', serial: '0x1234' };
      const lsblk = tmp.file('l.txt', [nvme('nvme0n1', gib(64)), mmc].map(lsblkLine).join('\n') + '\n');
      const links = tmp.file('k.txt', '\n');
      const r = bash(
        `set -euo pipefail
source lib/disks.sh
MI_DISK_BY_ID=() MI_DISK_BY_PATH=() MI_DISK_SERIAL=() MI_DISK_WWN=() MI_DISK_MODEL=()
MI_DISK_TRANSPORT=(mmc) MI_DISK_MIN_GIB='' MI_DISK_MAX_GIB='' MI_DISK_ROTATIONAL=''
MI_DISK_MATCH=any MI_DISK_PICK=smallest MI_DISK_WIPE_EXISTING=no
disks_choose "$1" "$2" '' ${gib(1)}
printf '%s\\n' "$CHOSEN_DISK"`,
        [lsblk, links],
      );
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('mmcblk0');
    } finally {
      tmp.cleanup();
    }
  });
});

describe('disk.match default', () => {
  it('is any, in the schema and in disks.sh when MI_DISK_MATCH is unset', async () => {
    const r = await parseAnswers(
      `bootkit: { archive: b.tar.gz }\nosImage: { path: o.raw.gz }\nuser: { name: edge, passwordHash: '${ANSWERS_HASH}' }\n`,
      '/tmp',
      { checkFiles: false },
    );
    expect(r.answers?.disk.match).toBe('any');
    const tmp = tempDir();
    try {
      const lsblk = tmp.file(
        'l.txt',
        [nvme('nvme0n1', gib(64)), sata('sda', gib(16), 'S-1')].map(lsblkLine).join('\n') + '\n',
      );
      const links = tmp.file('k.txt', '\n');
      // Two rules, each matched by one disk: with `any` both qualify and the smaller (sda) wins;
      // with `all` neither would.
      const d = bash(
        `set -euo pipefail
source lib/disks.sh
unset MI_DISK_MATCH
MI_DISK_BY_ID=() MI_DISK_BY_PATH=() MI_DISK_SERIAL=('S-1') MI_DISK_WWN=() MI_DISK_MODEL=()
MI_DISK_TRANSPORT=(nvme) MI_DISK_MIN_GIB='' MI_DISK_MAX_GIB='' MI_DISK_ROTATIONAL=''
MI_DISK_PICK=smallest MI_DISK_WIPE_EXISTING=no
rc=0
disks_choose "$1" "$2" '' ${gib(1)} || rc=$?
printf '%s %s\\n' "$rc" "$CHOSEN_DISK"`,
        [lsblk, links],
      );
      expect(d.stderr).toBe('');
      expect(d.stdout.trim()).toBe('0 sda');
    } finally {
      tmp.cleanup();
    }
  });
});
