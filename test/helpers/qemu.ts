// Why: boots ISOs, disks or a kernel+initrd in QEMU (TCG only) for the e2e tests, captures the serial console and waits for marker lines, never leaving a VM behind.
import { copyFile, mkdir, open, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

export const OVMF = {
  code: '/usr/share/OVMF/OVMF_CODE_4M.fd',
  vars: '/usr/share/OVMF/OVMF_VARS_4M.fd',
  secureBootCode: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd',
  /** Microsoft keys enrolled. */
  secureBootVars: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd',
} as const;

export type Firmware = 'bios' | 'uefi' | 'uefi-secureboot';
export type DiskBus = 'nvme' | 'sata' | 'virtio';

export interface TargetDisk {
  /** Raw image file (e.g. from `createDisk`). */
  path: string;
  bus: DiskBus;
  serial?: string;
  readonly?: boolean;
}

/** What the VM boots from; `none` boots from the target disks only (e.g. after an install). */
export type BootMedia =
  | { kind: 'cdrom'; iso: string }
  | {
      kind: 'usb';
      iso: string;
      /** attach read-write (a stick whose data partition the guest writes) */ writable?: boolean;
    }
  | { kind: 'kernel'; kernel: string; initrd: string; append: string }
  | { kind: 'none' };

export interface QemuOptions {
  firmware: Firmware;
  media: BootMedia;
  disks?: TargetDisk[];
  /** File the serial console (ttyS0) is written to. */
  serialLog: string;
  /** Writable OVMF vars file (required for UEFI firmware in `qemuArgs`; `startVm` makes one). */
  ovmfVars?: string;
  memoryMiB?: number;
  smp?: number;
  /** Extra QEMU arguments, appended last. */
  extraArgs?: string[];
}

/** QEMU option values separate with commas; a literal comma is written twice. */
export function qemuEscape(value: string): string {
  return value.replaceAll(',', ',,');
}

/** q35 AHCI ports; the CD, when present, takes ide.2 (as in the field notes). */
const AHCI_PORTS = ['ide.0', 'ide.1', 'ide.2', 'ide.3', 'ide.4', 'ide.5'];
const CD_PORT = 'ide.2';

/** Pure: the QEMU command line (without the binary) for these options. */
export function qemuArgs(opts: QemuOptions): string[] {
  const secure = opts.firmware === 'uefi-secureboot';
  const args = [
    '-machine',
    secure ? 'q35,smm=on' : 'q35',
    '-accel',
    'tcg',
    '-cpu',
    'max',
    '-smp',
    String(opts.smp ?? 2),
    '-m',
    String(opts.memoryMiB ?? 2048),
    '-nographic',
    '-no-reboot',
    '-monitor',
    'none',
    '-nic',
    'none',
    '-serial',
    `file:${opts.serialLog}`,
  ];
  if (opts.firmware !== 'bios') {
    if (!opts.ovmfVars) throw new Error('UEFI firmware needs ovmfVars (a private writable copy of the vars file)');
    if (secure) args.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
    const code = secure ? OVMF.secureBootCode : OVMF.code;
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${qemuEscape(code)}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${qemuEscape(opts.ovmfVars)}`,
    );
  }

  const media = opts.media;
  const usedPorts = new Set<string>();
  switch (media.kind) {
    case 'kernel':
      args.push('-kernel', media.kernel, '-initrd', media.initrd, '-append', media.append);
      break;
    case 'cdrom':
      usedPorts.add(CD_PORT);
      args.push(
        '-drive',
        `file=${qemuEscape(media.iso)},media=cdrom,readonly=on,if=none,id=cd0`,
        '-device',
        `ide-cd,drive=cd0,bus=${CD_PORT},bootindex=0`,
      );
      break;
    case 'usb':
      args.push(
        '-drive',
        `file=${qemuEscape(media.iso)},format=raw${media.writable ? '' : ',readonly=on'},if=none,id=usb0`,
        '-device',
        'qemu-xhci,id=xhci',
        '-device',
        'usb-storage,bus=xhci.0,drive=usb0,removable=on,bootindex=0',
      );
      break;
    case 'none':
      break;
  }

  const freePorts = AHCI_PORTS.filter((p) => !usedPorts.has(p));
  (opts.disks ?? []).forEach((disk, i) => {
    const id = `disk${i}`;
    const serial = disk.serial ? `,serial=${qemuEscape(disk.serial)}` : '';
    const boot = `,bootindex=${i + 1}`;
    const ro = disk.readonly ? ',readonly=on' : '';
    args.push('-drive', `file=${qemuEscape(disk.path)},format=raw,if=none,id=${id}${ro}`);
    switch (disk.bus) {
      case 'nvme':
        // NVMe controllers need a serial number.
        args.push('-device', `nvme,drive=${id},serial=${qemuEscape(disk.serial ?? `NVME${i}`)}${boot}`);
        break;
      case 'sata': {
        const port = freePorts.shift();
        if (!port) throw new Error('too many SATA disks: q35 has 6 AHCI ports');
        args.push('-device', `ide-hd,drive=${id},bus=${port}${serial}${boot}`);
        break;
      }
      case 'virtio':
        args.push('-device', `virtio-blk-pci,drive=${id}${serial}${boot}`);
        break;
    }
  });
  args.push(...(opts.extraArgs ?? []));
  return args;
}

/** A sparse blank disk image of `sizeGiB` (costs nothing until written). */
export async function createDisk(path: string, sizeGiB: number): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'w');
  try {
    await fh.truncate(Math.round(sizeGiB * 1024 ** 3));
  } finally {
    await fh.close();
  }
  return path;
}

/** A private writable copy of the OVMF vars file (keep it to boot the same "machine" again). */
export async function createOvmfVars(path: string, firmware: Firmware = 'uefi'): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await copyFile(firmware === 'uefi-secureboot' ? OVMF.secureBootVars : OVMF.vars, path);
  return path;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\r/g;

/** Serial text without colour codes and carriage returns. */
export function cleanSerial(text: string): string {
  return text.replace(ANSI, '');
}

/** The last `n` non-empty lines of a serial log, for error messages. */
export function tailLines(text: string, n = 40): string {
  return cleanSerial(text)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}

export interface StartOptions extends Omit<QemuOptions, 'ovmfVars'> {
  /** Reuse a vars file (e.g. the one of a previous boot); otherwise one is made beside the serial log. */
  ovmfVars?: string;
  /** Hard limit: QEMU is killed after this long, whatever happens. */
  timeoutMs: number;
  /** Human name used in error messages. */
  name?: string;
}

export interface MarkerHit {
  /** The whole (cleaned) line that matched. */
  line: string;
  /** Milliseconds since QEMU was started. */
  elapsedMs: number;
}

const running = new Set<Vm>();
const TIMEOUT_EXIT = 124;
const POLL_MS = 250;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Vm {
  readonly startedAt = Date.now();
  private exit: { code: number | null; signal: string | null; timedOut: boolean; stderr: string } | undefined;
  private readonly done: Promise<void>;

  constructor(
    readonly name: string,
    readonly args: readonly string[],
    readonly serialLogPath: string,
    readonly ovmfVars: string | undefined,
    private readonly proc: ResultPromise,
    readonly hardTimeoutMs: number,
  ) {
    running.add(this);
    const record = (r: {
      exitCode?: number;
      signal?: string;
      timedOut?: boolean;
      stderr?: unknown;
      message?: string;
    }) => {
      const stderr = typeof r.stderr === 'string' && r.stderr.trim() ? r.stderr.trim() : (r.message ?? '');
      // `timeout` exits 124 when it stopped QEMU at the hard limit (137 / SIGKILL if QEMU hung).
      const late = Date.now() - this.startedAt >= hardTimeoutMs;
      const timedOut =
        Boolean(r.timedOut) || r.exitCode === TIMEOUT_EXIT || (late && (r.exitCode === 137 || r.signal === 'SIGKILL'));
      this.exit = { code: r.exitCode ?? null, signal: r.signal ?? null, timedOut, stderr };
    };
    this.done = proc.then(record, record);
    void this.done.finally(() => running.delete(this));
  }

  /** The serial console so far (raw). */
  serialLog(): string {
    try {
      return readFileSync(this.serialLogPath, 'utf8');
    } catch {
      return '';
    }
  }

  get exited(): boolean {
    return this.exit !== undefined;
  }

  private fail(what: string): Error {
    const stderr = this.exit?.stderr
      ? `\n--- QEMU stderr ---\n${this.exit.stderr.split('\n').slice(-10).join('\n')}`
      : '';
    return new Error(
      `${this.name}: ${what} (after ${Math.round((Date.now() - this.startedAt) / 1000)} s)${stderr}\n` +
        `--- last serial lines (${this.serialLogPath}) ---\n${tailLines(this.serialLog())}\n---`,
    );
  }

  private exitText(): string {
    const e = this.exit;
    if (!e) return 'still running';
    if (e.timedOut) return `QEMU was killed at its hard timeout of ${Math.round(this.hardTimeoutMs / 1000)} s`;
    return e.signal ? `QEMU ended by signal ${e.signal}` : `QEMU exited with code ${e.code}`;
  }

  /** Waits until the serial console shows `marker`; throws on timeout or if QEMU ends first. */
  async waitFor(marker: string | RegExp, timeoutMs: number): Promise<MarkerHit> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = findMarker(this.serialLog(), marker);
      if (hit !== undefined) return { line: hit, elapsedMs: Date.now() - this.startedAt };
      if (this.exited) {
        // One last read: QEMU may have flushed the line as it ended.
        const last = findMarker(this.serialLog(), marker);
        if (last !== undefined) return { line: last, elapsedMs: Date.now() - this.startedAt };
        throw this.fail(`${this.exitText()} before the console showed ${String(marker)}`);
      }
      if (Date.now() > deadline) {
        throw this.fail(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${String(marker)}`);
      }
      await sleep(POLL_MS);
    }
  }

  /** Waits for QEMU to end by itself (guest poweroff or reboot with -no-reboot); returns its exit code. */
  async waitForExit(timeoutMs: number): Promise<number | null> {
    const timer = sleep(timeoutMs).then(() => 'timeout' as const);
    const r = await Promise.race([this.done.then(() => 'exited' as const), timer]);
    if (r === 'timeout') throw this.fail(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for QEMU to exit`);
    if (this.exit?.timedOut) throw this.fail(this.exitText());
    return this.exit?.code ?? null;
  }

  /** Ends QEMU (SIGTERM, then SIGKILL after 5 s) and waits for it to be gone. Safe to call twice. */
  async stop(): Promise<void> {
    if (!this.exited) this.proc.kill('SIGTERM');
    await this.done;
  }
}

function findMarker(text: string, marker: string | RegExp): string | undefined {
  const clean = cleanSerial(text);
  if (typeof marker === 'string') {
    const at = clean.indexOf(marker);
    if (at < 0) return undefined;
    const start = clean.lastIndexOf('\n', at) + 1;
    const end = clean.indexOf('\n', at);
    return clean.slice(start, end < 0 ? undefined : end);
  }
  const re = new RegExp(marker.source, marker.flags.replace('g', '') + (marker.flags.includes('m') ? '' : 'm'));
  for (const line of clean.split('\n')) if (re.test(line)) return line;
  return undefined;
}

/** Starts QEMU. Always `await vm.stop()` in `finally` (or call `stopAllVms()` in afterEach). */
export async function startVm(opts: StartOptions): Promise<Vm> {
  await mkdir(dirname(opts.serialLog), { recursive: true });
  await (await open(opts.serialLog, 'w')).close();
  let ovmfVars = opts.ovmfVars;
  if (opts.firmware !== 'bios' && !ovmfVars) {
    ovmfVars = await createOvmfVars(join(dirname(opts.serialLog), 'OVMF_VARS.fd'), opts.firmware);
  }
  const args = qemuArgs({ ...opts, ovmfVars });
  // coreutils `timeout` enforces the hard limit even if this process dies without cleaning up
  // (a killed vitest worker); it passes our SIGTERM on to QEMU in stop().
  const hardSeconds = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
  const proc = execa(
    'timeout',
    ['--signal=TERM', '--kill-after=10', String(hardSeconds), 'qemu-system-x86_64', ...args],
    {
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      timeout: opts.timeoutMs + 15_000,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: 5_000,
      cleanup: true,
      reject: false,
    },
  );
  return new Vm(opts.name ?? 'qemu', args, opts.serialLog, ovmfVars, proc, opts.timeoutMs);
}

/** Kills every VM this process started that is still running. */
export async function stopAllVms(): Promise<void> {
  await Promise.all([...running].map((vm) => vm.stop()));
}

/** Convenience for tests: reads a finished serial log file. */
export async function readSerial(path: string): Promise<string> {
  return cleanSerial(await readFile(path, 'utf8'));
}
