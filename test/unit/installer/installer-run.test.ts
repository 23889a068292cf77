// Why: runs the whole installer in plan mode and on refused inputs, checking the console contract lines (no root, no disk).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shellAssignments, type ShellValue } from '../../../src/render/shell.js';
import { validEnv } from './install-env.js';
import { gib, lsblkLine, nvme, part, runInstaller, sata, tempDir, usb } from './run-bash.js';

let tmp: ReturnType<typeof tempDir>;
let sha = '';
const PREFIX = 'MAKE-ISO-INSTALLER: ';

beforeAll(() => {
  tmp = tempDir();
  mkdirSync(join(tmp.dir, 'media/images'), { recursive: true });
  execFileSync('bash', [
    '--norc',
    '-c',
    'head -c 1048576 /dev/zero | gzip -1 >"$1"',
    '_',
    join(tmp.dir, 'media/images/emt.raw.gz'),
  ]);
  sha = createHash('sha256')
    .update(readFileSync(join(tmp.dir, 'media/images/emt.raw.gz')))
    .digest('hex');
});
afterAll(() => tmp.cleanup());

const MACHINE = [
  usb('sda', gib(8), { fstype: 'iso9660' }),
  part('sda1', 'sda', { fstype: 'iso9660' }),
  nvme('nvme0n1', gib(16)),
  nvme('nvme1n1', gib(8)),
  sata('sdb', gib(4)),
];

function run(
  opts: {
    env?: Record<string, ShellValue>;
    rows?: typeof MACHINE;
    cmdline?: string;
    seams?: Record<string, string>;
  } = {},
) {
  const name = `run-${Math.random().toString(36).slice(2)}`;
  const envFile = tmp.file(`${name}.env`, shellAssignments(validEnv({ MI_OS_IMAGE_SHA256: sha, ...opts.env })));
  const lsblk = tmp.file(`${name}.lsblk`, (opts.rows ?? MACHINE).map(lsblkLine).join('\n') + '\n');
  const cmdline = tmp.file(`${name}.cmdline`, opts.cmdline ?? 'root=tmpfs makeiso.volid=MAKEISO1 makeiso.plan=1\n');
  const log = join(tmp.dir, `${name}.log`);
  const r = runInstaller({
    MI_INSTALL_ENV: envFile,
    MI_CMDLINE_FILE: cmdline,
    MI_RUN_DIR: join(tmp.dir, name),
    MI_LOG_FILE: log,
    MI_TEST_MEDIA_DIR: join(tmp.dir, 'media'),
    MI_TEST_LSBLK_FILE: lsblk,
    MI_TEST_NO_REBOOT: '1',
    ...opts.seams,
  });
  return { ...r, log: readFileSync(log, 'utf8') };
}

describe('plan mode (makeiso.plan=1)', () => {
  it('runs every check, prints the candidate table and the steps, writes nothing, ends with PLAN COMPLETE', () => {
    const r = run();
    expect(r.status).toBe(0);
    expect(r.lines[0]).toBe(`${PREFIX}started (version unknown)`);
    expect(r.lines.filter((l) => /^MAKE-ISO-INSTALLER: step \d+\/10: /.test(l))).toEqual([
      `${PREFIX}step 1/10: read the install configuration`,
      `${PREFIX}step 2/10: find and mount the install media`,
      `${PREFIX}step 3/10: verify the OS image on the media`,
      `${PREFIX}step 4/10: choose the target disk`,
    ]);
    expect(r.lines).toContain(`${PREFIX}PLAN: step 5/10: write images/emt.raw.gz (1 MiB) to /dev/nvme1n1, erasing it`);
    expect(r.lines.find((l) => l.startsWith(`${PREFIX}PLAN: nvme1n1 `))).toMatch(/chosen$/);
    expect(r.lines.find((l) => l.startsWith(`${PREFIX}PLAN: sda `))).toMatch(/rejected: .*removable or USB/);
    expect(r.lines.at(-1)).toBe(`${PREFIX}PLAN COMPLETE`);
    // the console carries only our lines; tool output goes to the log
    for (const l of r.lines) expect(l).toMatch(/^(MAKE-ISO-INSTALLER|make-iso-installer): /);
    expect(r.log).toContain(`${PREFIX}PLAN COMPLETE`);
  });

  it('a tie is a FAILED line naming the step, not a guess', () => {
    const r = run({ rows: [nvme('nvme0n1', gib(8)), nvme('nvme1n1', gib(8))] });
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 4\/10 \(choose the target disk\): several disks tie \(nvme0n1 nvme1n1, 8\.0 GiB each\).*; nothing rebooted; log: /,
    );
  });

  it('no eligible disk is a clear FAILED line', () => {
    const r = run({ rows: [usb('sda', gib(8))] });
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 4\/10 \(choose the target disk\): no disk matches/,
    );
  });

  it('a damaged image fails at step 3, before any disk is looked at', () => {
    const r = run({ env: { MI_OS_IMAGE_SHA256: 'f'.repeat(64) } });
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 3\/10 \(verify the OS image on the media\): the OS image images\/emt\.raw\.gz is damaged: sha256 [0-9a-f]{64}, expected f{64}; nothing was written/,
    );
    expect(r.stdout).not.toContain('step 4/10');
  });
});

describe('refusals', () => {
  it('an invalid install.env fails at step 1 and lists the problems', () => {
    const r = run({ env: { MI_HOST_TYPE: 'vm', MI_AFTER_INSTALL: 'dance' } });
    expect(r.status).toBe(1);
    expect(r.lines).toContain(
      "make-iso-installer: config: MI_HOST_TYPE: must be one of: kubernetes container (got 'vm')",
    );
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 1\/10 \(read the install configuration\): the install configuration is invalid \(2 problem\(s\)/,
    );
  });

  it('answers the OS image cannot take (install.env image facts) fail at step 1, one line each, the target untouched', () => {
    const target = tmp.file('target.img', Buffer.alloc(4096, 0x5a));
    const before = readFileSync(target);
    const r = run({
      cmdline: 'makeiso.volid=MAKEISO1\n',
      seams: { MI_TEST_TARGET: target },
      env: {
        MI_CLOUD_INIT: 'yes',
        MI_NTP_SERVERS: ['pool.ntp.org'],
        MI_IMAGE_CLOUD_INIT: 'no',
        MI_IMAGE_CHRONY: 'yes',
        MI_IMAGE_SUDO: 'yes',
        MI_IMAGE_SSHD: 'yes',
        MI_IMAGE_PERSISTENT: 'yes',
      },
    });
    expect(r.status).toBe(1);
    expect(r.lines).toContain(
      'make-iso-installer: config: cloudInit answers need cloud-init, which the OS image lacks',
    );
    expect(r.lines).toContain(
      'make-iso-installer: config: ntp.servers needs cloud-init (its ntp module drives chrony), which the OS image lacks',
    );
    expect(r.lines.at(-1)).toMatch(
      /^MAKE-ISO-INSTALLER: FAILED: step 1\/10 \(read the install configuration\): answers that cannot apply to this OS image: cloudInit answers need cloud-init.*;ntp\.servers needs cloud-init/,
    );
    expect(r.lines.some((l) => l.includes('step 2/10'))).toBe(false);
    expect(readFileSync(target).equals(before)).toBe(true);
  });

  it('the same answers pass step 1 when the image facts say the image has what they need', () => {
    // the extras file install.env promises, next to it (as the build writes it)
    const extras = tmp.file('cloud-init.yaml', 'runcmd: [true]\n');
    const r = run({
      env: {
        MI_CLOUD_INIT: 'yes',
        MI_NTP_SERVERS: ['pool.ntp.org'],
        MI_IMAGE_CLOUD_INIT: 'yes',
        MI_IMAGE_CHRONY: 'yes',
      },
    });
    expect(r.lines.some((l) => l.includes('step 2/10'))).toBe(true);
    expect(r.lines.join('\n')).not.toContain('cannot apply');
    expect(r.lines).toContain(`MAKE-ISO-INSTALLER: PLAN: cloud-init extras from ${extras}`);
  });

  it('test seams outside plan mode demand a loop-device target', () => {
    const noTarget = run({ cmdline: 'makeiso.volid=MAKEISO1\n' });
    expect(noTarget.lines.at(-1)).toMatch(/FAILED: step 1\/10 .*MI_TEST_TARGET is not; refusing to choose a real disk/);
    const file = tmp.file('not-a-disk.img', '');
    const notLoop = run({ cmdline: 'makeiso.volid=MAKEISO1\n', seams: { MI_TEST_TARGET: file } });
    expect(notLoop.lines.at(-1)).toMatch(/FAILED: step 1\/10 .*MI_TEST_TARGET must be a \/dev\/loopN device/);
  });

  it('without makeiso.volid the media cannot be found: FAILED at step 2', () => {
    const envFile = tmp.file('novolid.env', shellAssignments(validEnv({ MI_OS_IMAGE_SHA256: sha })));
    const r = runInstaller({
      MI_INSTALL_ENV: envFile,
      MI_CMDLINE_FILE: tmp.file('novolid.cmdline', 'console=ttyS0 makeiso.plan=1\n'),
      MI_RUN_DIR: join(tmp.dir, 'novolid'),
      MI_LOG_FILE: join(tmp.dir, 'novolid.log'),
    });
    expect(r.status).toBe(1);
    expect(r.lines.at(-1)).toMatch(
      /FAILED: step 2\/10 \(find and mount the install media\): the kernel command line has no makeiso\.volid=/,
    );
  });
});
