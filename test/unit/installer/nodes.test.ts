// Why: on a fleet medium the installer must install each machine with its own entry, say which
// and why, and stop at step 1 (nothing written) when the machine matches no entry or several.
// The identity is read from a fake sysfs tree (MI_TEST_SYS_ROOT) and a disk-serial list.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_CLOUD_INIT_SUFFIX, NODE_DIR, NODE_MATCH_TABLE } from '../../../src/facts.js';
import { shellAssignments } from '../../../src/render/shell.js';
import { validEnv } from './install-env.js';
import { bash, gib, lsblkLine, nvme, runInstaller, tempDir } from './run-bash.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

let seq = 0;
/** A fake machine: sysfs root with NICs and DMI, plus a disk-serial list. */
function machine(m: { macs?: Record<string, string>; serial?: string; uuid?: string; disks?: string[] }) {
  const root = join(tmp.dir, `m${seq++}`);
  for (const [nic, mac] of Object.entries({ lo: '00:00:00:00:00:00', ...m.macs })) {
    mkdirSync(join(root, 'sys/class/net', nic), { recursive: true });
    writeFileSync(join(root, 'sys/class/net', nic, 'address'), `${mac}\n`);
  }
  mkdirSync(join(root, 'sys/class/dmi/id'), { recursive: true });
  if (m.serial !== undefined) writeFileSync(join(root, 'sys/class/dmi/id/product_serial'), `${m.serial}\n`);
  if (m.uuid !== undefined) writeFileSync(join(root, 'sys/class/dmi/id/product_uuid'), `${m.uuid}\n`);
  const serials = join(root, 'serials.txt');
  writeFileSync(serials, (m.disks ?? []).map((d) => `${d}\n`).join(''));
  return { root, serials };
}

function identity(m: ReturnType<typeof machine>): string[] {
  const r = bash('set -euo pipefail; source lib/nodes.sh; nodes_identity "$1" "$2"', [m.root, m.serials]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

function choose(table: string, m: ReturnType<typeof machine>) {
  const t = tmp.file(`table${seq++}.tsv`, table);
  const r = bash(
    `set -euo pipefail; source lib/nodes.sh
nodes_identity "$1" "$2" >"$3.id"
if nodes_choose "$3" "$3.id"; then printf 'name=%s\\n' "$NODE_NAME"; printf 'why=%s\\n' "\${NODE_REASONS[@]}"
else printf 'error=%s\\n' "$NODE_ERROR"; fi`,
    [m.root, m.serials, t],
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

const A = machine({ macs: { enp1s0: '52:54:00:AA:00:01' }, serial: 'SER-A', uuid: 'ABCD-1', disks: ['D1', ''] });
const B = machine({ macs: { enp1s0: '52:54:00:aa:00:02', enp2s0: '52:54:00:bb:00:09' }, serial: ' SER-B ' });
const C = machine({ macs: { enp1s0: '52:54:00:cc:00:03' }, serial: 'SER-C' });

describe('nodes_identity', () => {
  it('lists NIC MACs (not lo, lower-cased), SMBIOS serial (trimmed) and UUID (lower-cased), disk serials', () => {
    expect(identity(A)).toEqual([
      'mac\t52:54:00:aa:00:01',
      'smbiosSerial\tSER-A',
      'smbiosUuid\tabcd-1',
      'diskSerial\tD1',
    ]);
    expect(identity(B)).toEqual(['mac\t52:54:00:aa:00:02', 'mac\t52:54:00:bb:00:09', 'smbiosSerial\tSER-B']);
  });
});

const TABLE = '# header\na\tmac\t52:54:00:aa:00:01\nb\tmac\t52:54:00:aa:00:0?\nb\tsmbiosSerial\tSER-B\n';

describe('nodes_choose', () => {
  it('picks the one entry whose every criterion matches, with the reasons', () => {
    expect(choose(TABLE, A)).toEqual(['name=a', 'why=matched mac 52:54:00:aa:00:01 against 52:54:00:aa:00:01']);
    expect(choose(TABLE, B)).toEqual([
      'name=b',
      'why=matched mac 52:54:00:aa:00:02 against 52:54:00:aa:00:0?',
      'why=matched smbiosSerial SER-B against SER-B',
    ]);
  });

  it('no match and no default: an error naming the identity; with a default: the default', () => {
    expect(choose(TABLE, C)).toEqual([
      'error=this machine matches no node entry and there is no default entry (its identity: mac 52:54:00:cc:00:03, smbiosSerial SER-C)',
    ]);
    expect(choose(`${TABLE}spare\tdefault\t*\n`, C)).toEqual([
      'name=spare',
      'why=matched no other entry; the default entry',
    ]);
  });

  it('several matches (a machine with two NICs) is an error, never a guess', () => {
    const t = 'b\tmac\t52:54:00:aa:00:02\nx\tmac\t52:54:00:BB:*\nspare\tdefault\t*\n';
    expect(choose(t, B)).toEqual(['error=this machine matches 2 node entries (b x); it must match one']);
  });

  it('an unknown kind in the table is an error', () => {
    expect(choose('a\tbogus\t*\n', A)).toEqual(["error=the node match table has an unknown kind 'bogus' (entry a)"]);
  });
});

describe('the installer at step 1 (plan mode)', () => {
  let media = '';
  let sha = '';
  beforeAll(() => {
    media = join(tmp.dir, 'media');
    mkdirSync(join(media, 'images'), { recursive: true });
    execFileSync('bash', [
      '--norc',
      '-c',
      'head -c 65536 /dev/zero | gzip -1 >"$1"',
      '_',
      join(media, 'images/emt.raw.gz'),
    ]);
    sha = createHash('sha256')
      .update(readFileSync(join(media, 'images/emt.raw.gz')))
      .digest('hex');
  });

  /** With `cloudInit`: b's env says it has cloud-init extras, and every entry gets its extras file. */
  function run(m: ReturnType<typeof machine>, drop?: string, cloudInit = false) {
    const cfg = join(tmp.dir, `cfg${seq++}`);
    mkdirSync(join(cfg, NODE_DIR), { recursive: true });
    const env = (user: string, extras = false) =>
      shellAssignments(
        validEnv({
          MI_OS_IMAGE_SHA256: sha,
          MI_USER_NAME: user,
          ...(extras ? { MI_CLOUD_INIT: 'yes', MI_IMAGE_CLOUD_INIT: 'yes' } : {}),
        }),
      );
    writeFileSync(join(cfg, 'install.env'), env('base'));
    writeFileSync(join(cfg, NODE_DIR, 'a.env'), env('usera'));
    writeFileSync(join(cfg, NODE_DIR, 'b.env'), env('userb', cloudInit));
    writeFileSync(join(cfg, NODE_DIR, NODE_MATCH_TABLE), TABLE);
    if (cloudInit) {
      writeFileSync(join(cfg, 'cloud-init.yaml'), 'runcmd: [base]\n');
      for (const n of ['a', 'b'])
        writeFileSync(join(cfg, NODE_DIR, `${n}${NODE_CLOUD_INIT_SUFFIX}`), `runcmd: [${n}]\n`);
    }
    if (drop) rmSync(join(cfg, NODE_DIR, drop));
    const log = join(cfg, 'log');
    const r = runInstaller({
      MI_INSTALL_ENV: join(cfg, 'install.env'),
      MI_CMDLINE_FILE: tmp.file(`cmd${seq++}`, 'makeiso.volid=MAKEISO1 makeiso.plan=1\n'),
      MI_RUN_DIR: join(cfg, 'run'),
      MI_LOG_FILE: log,
      MI_TEST_MEDIA_DIR: media,
      MI_TEST_LSBLK_FILE: tmp.file(`lsblk${seq++}`, `${lsblkLine(nvme('nvme0n1', gib(16)))}\n`),
      MI_TEST_NO_REBOOT: '1',
      MI_TEST_SYS_ROOT: m.root,
      MI_TEST_DISK_SERIALS_FILE: m.serials,
    });
    return r;
  }

  it('prints the match, installs with the entry env file and plans to the end', () => {
    const r = run(B);
    expect(r.lines).toContain('MAKE-ISO-INSTALLER: node b: matched mac 52:54:00:aa:00:02 against 52:54:00:aa:00:0?');
    expect(r.lines).toContain('MAKE-ISO-INSTALLER: node b: matched smbiosSerial SER-B against SER-B');
    expect(r.lines.some((l) => /^MAKE-ISO-INSTALLER: PLAN: install as node b \(.*\/nodes\/b\.env\)$/.test(l))).toBe(
      true,
    );
    // the plan is made from b's env file, not install.env
    expect(r.lines.some((l) => l.startsWith('MAKE-ISO-INSTALLER: PLAN: step 7/10: configure user userb,'))).toBe(true);
    expect(r.lines.at(-1)).toBe('MAKE-ISO-INSTALLER: PLAN COMPLETE');
    expect(r.status).toBe(0);
  });

  it('a machine matching nothing fails at step 1 and never looks at the media', () => {
    const r = run(C);
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 1\/10 \(read the install configuration\): this machine matches no node entry and there is no default entry \(its identity: mac 52:54:00:cc:00:03, smbiosSerial SER-C\); nothing was written; nothing rebooted/,
    );
    expect(r.stdout).not.toContain('step 2/10');
  });

  it("the matched entry's own cloud-init extras are the ones used (plan names the file)", () => {
    const r = run(B, undefined, true);
    expect(
      r.lines.some((l) => /^MAKE-ISO-INSTALLER: PLAN: cloud-init extras from .*\/nodes\/b\.cloud-init\.yaml$/.test(l)),
    ).toBe(true);
    expect(r.lines.at(-1)).toBe('MAKE-ISO-INSTALLER: PLAN COMPLETE');
  });

  it('an entry with extras whose cloud-init file is missing fails at step 1 (not after writing), naming it', () => {
    const r = run(B, `b${NODE_CLOUD_INIT_SUFFIX}`, true);
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 1\/10 \(read the install configuration\): MI_CLOUD_INIT is yes but .*\/nodes\/b\.cloud-init\.yaml is missing from the installer \(a damaged medium\); nothing was written/,
    );
  });

  it('a matched entry whose env file is missing fails at step 1, naming it', () => {
    const r = run(A, 'a.env');
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 1\/10 \(read the install configuration\): node a has no env file .*\/nodes\/a\.env \(a damaged medium\); nothing was written/,
    );
  });
});
