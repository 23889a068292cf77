// Why: `make-iso write ISO DEVICE`: checks the target against the safety rules, shows what
// will be destroyed, asks for the device name, then writes and verifies with a live progress line.
import { basename } from 'node:path';
import type { Command } from 'commander';
import { inspectIso } from '../../iso/inspect.js';
import { stat } from 'node:fs/promises';
import { inContext, MissingToolError, UserError } from '../../errors.js';
import { run } from '../../exec.js';
import type { ProgressEvent, ProgressSink } from '../../progress.js';
import {
  addDataPartition,
  DATA_PARTITION,
  parseSize,
  planDataPartition,
  readPartitionTable,
} from '../../usb/data-partition.js';
import { formatBytes } from '../../io/size.js';
import { checkTarget, mountsToUnmount, type Refusal, type TargetFacts } from '../../usb/safety.js';
import { inspectSource, inspectTarget } from '../../usb/target.js';
import { clearHeadSync, writeImage } from '../../usb/image-writer.js';
import { canPrompt, confirmTyped } from '../confirm.js';
import { registerTemp, removeTemp } from '../../io/temps.js';
import { onInterrupt, setInterruptNote } from '../interrupt.js';
import type { Cli } from '../context.js';

export interface WriteCommandOptions {
  yes?: boolean;
  verify: boolean;
  force?: boolean;
  allowInternalDisk?: boolean;
  unmount?: boolean;
  /** true (rest of the drive) or a size such as "1G". */
  dataPartition?: boolean | string;
}

/** Replaceable in tests: the prompt, and the signal that Ctrl-C aborts. */
export interface WriteDeps {
  canPrompt: () => boolean;
  confirmTyped: (question: string, expected: string, alsoAccept?: string[]) => Promise<boolean>;
}

const defaultDeps: WriteDeps = { canPrompt, confirmTyped };

function refusalError(device: string, refusals: Refusal[]): UserError {
  const [first] = refusals;
  if (refusals.length === 1 && first) return new UserError(`refusing to write ${device}: ${first.message}`);
  return new UserError(`refusing to write ${device}:\n  - ${refusals.map((r) => r.message).join('\n  - ')}`);
}

/** Lines describing the target and what is on it now (exported for tests). */
export function describeTarget(t: TargetFacts, isoPath: string, isoSize: number): string[] {
  const lines: string[] = [];
  if (t.kind === 'block' && t.drive) {
    const d = t.drive;
    const model = [d.vendor, d.model].filter(Boolean).join(' ') || 'unknown model';
    lines.push(`About to write ${isoPath} (${formatBytes(isoSize)}) to ${d.path}:`);
    lines.push(`  ${model}, ${formatBytes(d.size)}, ${d.transport ?? d.type}${d.serial ? `, serial ${d.serial}` : ''}`);
    if (d.parts.length === 0) {
      lines.push(
        `  it holds now: ${d.fstype ? `a ${d.fstype} filesystem${d.label ? ` "${d.label}"` : ''}` : 'no partitions'}`,
      );
    } else {
      lines.push(`  it holds now${d.pttype ? ` (${d.pttype} partition table)` : ''}:`);
      for (const p of d.parts) {
        const bits = [p.fstype ?? 'no filesystem', p.label ? `"${p.label}"` : null, formatBytes(p.size)];
        if (p.mountpoints.length > 0) bits.push(`mounted on ${p.mountpoints.join(', ')}`);
        lines.push(`    ${p.path}  ${bits.filter(Boolean).join(', ')}`);
      }
    }
    lines.push(`Everything on ${d.path} will be destroyed.`);
  } else {
    const what = t.kind === 'missing' ? 'a new image file' : `the existing file (${formatBytes(t.fileSize ?? 0)})`;
    lines.push(`About to write ${isoPath} (${formatBytes(isoSize)}) to ${what} ${t.path}.`);
  }
  return lines;
}

/** "48.1 MB/s, ETA 0:10": rate and time left for one progress event (the renderer shows the bytes). */
export function progressLine(e: ProgressEvent, startedMs: number, nowMs: number): string {
  const done = e.done ?? 0;
  const total = e.total ?? 0;
  const secs = Math.max((nowMs - startedMs) / 1000, 0.001);
  const rate = done / secs;
  const eta = rate > 0 && total > done ? Math.ceil((total - done) / rate) : 0;
  const etaText = `${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}`;
  const mbs = rate / 1e6;
  return `${mbs >= 100 ? mbs.toFixed(0) : mbs.toFixed(1)} MB/s, ETA ${etaText}`;
}

/**
 * Adds rate and ETA to the writer's progress events as their message, then hands them to the
 * CLI's one progress renderer (live line, plain lines or JSON events).
 */
function withRate(sink: ProgressSink, now: () => number = () => performance.now()): ProgressSink {
  const started = new Map<string, number>();
  return (e) => {
    if (e.kind === 'start') started.set(e.step, now());
    if (e.kind !== 'progress') return sink(e);
    const verb = e.step === 'verify' ? 'verifying' : 'writing';
    sink({ ...e, message: `${verb} ${progressLine(e, started.get(e.step) ?? now(), now())}` });
  };
}

function dataSize(opt: boolean | string): { bytes?: number } {
  return { bytes: opt === true ? undefined : parseSize(String(opt)) };
}

async function unmountAll(t: TargetFacts): Promise<string[]> {
  const mounts = mountsToUnmount(t);
  for (const m of mounts) await run('umount', [m]);
  return mounts;
}

export function register(program: Command, cli: Cli, deps: WriteDeps = defaultDeps): void {
  program
    .command('write')
    .description('write an ISO to a USB drive (or an image file) and verify it by reading it back')
    .argument('<iso>', 'the ISO to write')
    .argument('<device>', 'a whole drive (e.g. /dev/sdb or /dev/disk/by-id/usb-...), or an image file path')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--no-verify', 'skip reading the drive back after writing')
    .option('--force', 'replace an existing image file that is larger than the ISO (its start is overwritten)')
    .option('--allow-internal-disk', 'allow a non-removable, non-USB drive: an internal disk or a loop device')
    .option('--unmount', "unmount the drive's mounted partitions first")
    .option(
      '--data-partition [size]',
      `after writing, add a FAT partition labelled ${DATA_PARTITION.fsLabel} after the ISO (rest of the drive, or SIZE such as 1G) where the installer leaves its log`,
    )
    .addHelpText(
      'after',
      '\nRefused always: system drives (holding /, /boot, swap, ...), partitions, read-only or too small drives.\n' +
        'An image file path is created if missing; an existing file is never truncated.',
    )
    .action((iso: string, device: string, opts: WriteCommandOptions) => runWrite(cli, iso, device, opts, deps));
}

/** The whole `write` flow, shared with the wizard's offer to write the ISO it built. */
/** What the source holds, from its make-iso manifest and xorriso's boot report. */
export async function describeIsoContent(iso: string): Promise<string[]> {
  let info;
  try {
    info = await inspectIso(iso);
  } catch (err) {
    if (err instanceof MissingToolError) throw err; // never treat a real ISO as raw for want of xorriso
    return ['the source is not an ISO 9660 image; it is written as a raw disk image'];
  }
  const lines: string[] = [];
  const m = info.manifest;
  lines.push(
    m
      ? `the ISO is a make-iso ${m.makeIso.version} installer (${info.volid}) for ${m.osImage.name} (sha256 ${m.osImage.sha256.slice(0, 16)}...), kernel ${m.bootkit.kernel.version}`
      : `the ISO (${info.volid || 'no volume id'}) was not made by make-iso (no manifest)`,
  );
  const usb = info.bootModes.filter((b) => b.endsWith('-usb'));
  if (usb.length < 2) {
    const missing = ['bios-usb', 'uefi-usb'].filter((b) => !usb.includes(b as never));
    lines.push(
      `warning: this ISO has no ${missing.join(' or ')} boot support; a USB stick written with it will not boot that way`,
    );
  }
  return lines;
}

/** The source must be a non-empty regular file (or block device): not a directory, FIFO or /dev/zero. */
async function refuseSource(iso: string): Promise<void> {
  const s = await stat(iso).catch(() => undefined);
  if (!s) throw new UserError(`cannot read the ISO ${iso}: it does not exist`);
  if (!s.isFile() && !s.isBlockDevice()) {
    throw new UserError(`cannot read the ISO ${iso}: it is not a regular file; give the .iso file make-iso built`);
  }
  if (s.isFile() && s.size === 0) throw new UserError(`cannot read the ISO ${iso}: it is empty`);
}

export async function runWrite(
  cli: Cli,
  iso: string,
  device: string,
  opts: WriteCommandOptions,
  deps: WriteDeps = defaultDeps,
): Promise<void> {
  await refuseSource(iso);
  const source = await inspectSource(iso).catch((err: unknown) => {
    throw new UserError(`cannot read the ISO ${iso}: ${(err as Error).message}`, { cause: err });
  });
  // lsblk and findmnt run only when the target is a block device
  let target = await inspectTarget(device, source);
  const refusals = checkTarget(target, source, {
    force: opts.force,
    allowInternalDisk: opts.allowInternalDisk,
    unmount: opts.unmount,
  });
  if (refusals.length > 0) throw refusalError(device, refusals);
  const wantData = opts.dataPartition === undefined ? undefined : dataSize(opts.dataPartition);
  if (wantData !== undefined) {
    // Refuse before writing when there will be no room (the real plan is made after writing).
    const room = target.kind === 'block' ? (target.drive?.size ?? 0) : Math.max(target.fileSize ?? 0, source.size);
    planDataPartition(await readPartitionTable(iso), source.size, room, wantData.bytes);
  }

  for (const line of describeTarget(target, iso, source.size)) cli.err(line);
  for (const line of await describeIsoContent(iso)) cli.err(line);
  if (!opts.yes) {
    if (!deps.canPrompt()) {
      throw new UserError(
        'stdin is not a terminal, so make-iso cannot ask for confirmation; add --yes to write without asking',
      );
    }
    const name = basename(target.path);
    const ok = await deps.confirmTyped(`Type ${name} to write, anything else to cancel: `, name, [target.path]);
    if (!ok) throw new UserError(`not confirmed; nothing was written to ${target.path}`);
  }

  if (opts.unmount && target.kind === 'block') {
    const done = await unmountAll(target);
    if (done.length > 0) cli.err(`unmounted ${done.join(', ')}`);
    target = await inspectTarget(device, source);
    const still = checkTarget(target, source, { force: opts.force, allowInternalDisk: opts.allowInternalDisk });
    if (still.length > 0) throw refusalError(device, still);
  }

  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  // An image file this command creates is removed again if the write does not finish.
  const created = target.kind === 'missing' ? target.path : undefined;
  const forgetCreated = created ? registerTemp(created) : () => undefined;
  setInterruptNote(
    created
      ? `the unfinished image file ${created} was removed`
      : `${target.path} holds a partial image now; write it again before using it`,
  );
  // A signal ends make-iso at once (interrupt.ts): while blocks are being written, the first MiB
  // (written last) still holds the old content; clear it so a half-written target never boots.
  let writing = false;
  const forgetInterruptStep = onInterrupt(() => {
    if (writing) clearHeadSync(target.path, Math.min(1024 * 1024, source.size));
  });
  const progress = withRate(cli.progress);
  let finishedOk = false;
  try {
    const result = await writeImage({
      source: iso,
      target: target.path,
      kind: target.kind === 'block' ? 'block' : 'file',
      expectMajMin: target.kind === 'block' ? target.node?.majMin : undefined,
      verify: opts.verify,
      signal: ac.signal,
      progress: (e) => {
        if (e.step === 'write' && (e.kind === 'start' || e.kind === 'end')) writing = e.kind === 'start';
        progress(e);
      },
    });
    if (wantData !== undefined) {
      const room = target.kind === 'block' ? (target.drive?.size ?? 0) : (await stat(target.path)).size;
      const plan = await inContext('adding the data partition', () =>
        addDataPartition(target.path, result.bytes, room, wantData.bytes),
      );
      cli.err(
        `added a ${formatBytes(plan.size * plan.sectorSize)} FAT partition "${DATA_PARTITION.fsLabel}" at ${formatBytes(plan.start * plan.sectorSize)} for installer logs`,
      );
    }
    // Let the kernel (and udev) see the new partitions; loop devices without partscan refuse: fine.
    if (target.kind === 'block') await run('blockdev', ['--rereadpt', target.path]).catch(() => '');
    const rate = (result.bytes / Math.max(result.writeSeconds, 0.001) / 1e6).toFixed(1);
    cli.out(
      result.verified
        ? `${target.path}: written and verified (${formatBytes(result.bytes)}, ${rate} MB/s), sha256 ${result.sha256}`
        : `${target.path}: written, not verified (${formatBytes(result.bytes)}, ${rate} MB/s), sha256 ${result.sha256}`,
    );
    finishedOk = true;
  } finally {
    process.off('SIGINT', onSigint);
    forgetInterruptStep();
    if (created && !finishedOk) await removeTemp(created);
    forgetCreated();
  }
}
