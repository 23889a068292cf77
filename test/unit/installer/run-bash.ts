// Why: one way for the installer tests to run the bash libraries in installer-scripts/ on data files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const SCRIPTS_DIR = resolve(import.meta.dirname, '../../../installer-scripts');

export interface BashResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `bash -c SCRIPT _ ARGS...` in installer-scripts/ with a small, fixed environment. */
export function bash(script: string, args: string[] = [], env: Record<string, string> = {}): BashResult {
  // --norc and no stdin socket: bash reads ~/.bashrc when its stdin looks like a remote shell's.
  const r = spawnSync('bash', ['--norc', '-c', script, '_', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: SCRIPTS_DIR,
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', ...env },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A private temporary directory with a helper to write files into it. */
export function tempDir(prefix = 'make-iso-installer-'): {
  dir: string;
  file(name: string, content: string | Buffer): string;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    file(name, content) {
      const p = join(dir, name);
      writeFileSync(p, content);
      return p;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LsblkRow {
  name: string;
  type?: string;
  pkname?: string;
  size?: number;
  rm?: 0 | 1;
  ro?: 0 | 1;
  rota?: 0 | 1;
  tran?: string;
  subsystems?: string;
  serial?: string;
  wwn?: string;
  model?: string;
  fstype?: string;
  mountpoint?: string;
}

const GIB = 1024 ** 3;
export const gib = (n: number): number => Math.round(n * GIB);

/** Escapes a value the way `lsblk -P` does: ", \, $, ` and control characters as \xNN. */
export function lsblkEscape(v: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what lsblk escapes
  return v.replace(/["\\$`\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One line of `lsblk -P -b -o NAME,KNAME,PATH,TYPE,PKNAME,SIZE,RM,RO,ROTA,TRAN,SUBSYSTEMS,...`. */
export function lsblkLine(r: LsblkRow): string {
  const f: Array<[string, string]> = [
    ['NAME', r.name],
    ['KNAME', r.name],
    ['PATH', `/dev/${r.name}`],
    ['TYPE', r.type ?? 'disk'],
    ['PKNAME', r.pkname ?? ''],
    ['SIZE', String(r.size ?? gib(8))],
    ['RM', String(r.rm ?? 0)],
    ['RO', String(r.ro ?? 0)],
    ['ROTA', String(r.rota ?? 0)],
    ['TRAN', r.tran ?? ''],
    ['SUBSYSTEMS', r.subsystems ?? 'block'],
    ['SERIAL', r.serial ?? ''],
    ['WWN', r.wwn ?? ''],
    ['MODEL', r.model ?? ''],
    ['FSTYPE', r.fstype ?? ''],
    ['MOUNTPOINT', r.mountpoint ?? ''],
  ];
  return f.map(([k, v]) => `${k}="${lsblkEscape(v)}"`).join(' ');
}

export const nvme = (name: string, size: number, serial = `SN-${name}`, extra: Partial<LsblkRow> = {}): LsblkRow => ({
  name,
  size,
  tran: 'nvme',
  subsystems: 'block:nvme:pci',
  serial,
  model: 'QEMU NVMe Ctrl',
  wwn: `eui.${name}`,
  ...extra,
});
export const sata = (name: string, size: number, serial = `SN-${name}`, extra: Partial<LsblkRow> = {}): LsblkRow => ({
  name,
  size,
  tran: 'sata',
  subsystems: 'block:scsi:pci',
  serial,
  model: 'QEMU HARDDISK',
  rota: 1,
  wwn: `0x5000c500${name}`,
  ...extra,
});
export const virtio = (name: string, size: number, extra: Partial<LsblkRow> = {}): LsblkRow => ({
  name,
  size,
  subsystems: 'block:virtio:pci',
  rota: 1,
  ...extra,
});
export const usb = (name: string, size: number, extra: Partial<LsblkRow> = {}): LsblkRow => ({
  name,
  size,
  tran: 'usb',
  subsystems: 'block:scsi:usb:pci',
  rm: 1,
  serial: `USB-${name}`,
  model: 'Flash Disk',
  ...extra,
});
export const part = (name: string, parent: string, extra: Partial<LsblkRow> = {}): LsblkRow => ({
  name,
  type: 'part',
  pkname: parent,
  size: gib(1),
  ...extra,
});

/** Runs installer-scripts/installer.sh with the given environment (test seams, file locations). */
export function runInstaller(env: Record<string, string>): BashResult & { lines: string[] } {
  const r = spawnSync('bash', ['--norc', join(SCRIPTS_DIR, 'installer.sh')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 120_000,
    // no kernel probing or test mounts on the test host (the seam counts as a test seam)
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', MI_TEST_NO_KERNEL_CHECK: '1', ...env },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.split('\n').filter(Boolean) };
}
