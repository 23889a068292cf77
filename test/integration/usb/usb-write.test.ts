// Why: proves `make-iso write` on real I/O: image files and loop devices are written and read
// back, a corrupted read-back is caught with its offset, and every refusal fires. Needs root.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cli } from '../../../src/cli/context.js';
import { register, type WriteDeps } from '../../../src/cli/commands/write.js';
import { ExitCode, InterruptedError, MakeIsoError, UserError, VerificationError } from '../../../src/errors.js';
import { checkTarget } from '../../../src/usb/safety.js';
import { inspectSource, inspectTarget } from '../../../src/usb/target.js';
import { writeImage } from '../../../src/usb/image-writer.js';
import { readInventory } from '../../../src/usb/drives.js';
import { usbWriteOffer } from '../../../src/cli/usb-offer.js';

const isRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

function sha256File(path: string, length?: number): string {
  const data = readFileSync(path);
  return createHash('sha256')
    .update(length === undefined ? data : data.subarray(0, length))
    .digest('hex');
}

let work: string;
let iso: string;
let isoSize: number;
let hybridIso: string;
const loops: string[] = [];
const mounts: string[] = [];

/** A small real ISO 9660 image (random payload so a byte flip always changes the hash). */
function makeIso(dir: string): string {
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'boot'), { recursive: true });
  writeFileSync(join(tree, 'boot', 'payload.bin'), randomBytes(9 * MiB));
  writeFileSync(join(tree, 'README.txt'), 'make-iso usb write test\n');
  const out = join(dir, 'test.iso');
  sh('xorriso', ['-as', 'mkisofs', '-quiet', '-o', out, '-V', 'MAKEISO_USBTEST', tree]);
  return out;
}

/** A hybrid (GPT + ESP) ISO like the generator's, from grub-mkrescue: has a partition table to extend. */
function makeHybridIso(dir: string): string {
  const tree = join(dir, 'hybrid');
  mkdirSync(join(tree, 'boot', 'grub'), { recursive: true });
  writeFileSync(join(tree, 'boot', 'grub', 'grub.cfg'), 'echo make-iso\nhalt\n');
  const out = join(dir, 'hybrid.iso');
  sh('grub-mkrescue', ['-o', out, tree]);
  return out;
}

/** A sparse backing file attached as a loop device (optionally with one ext4 partition). */
function makeLoop(sizeBytes: number, opts: { partition?: boolean } = {}): { dev: string; file: string } {
  const file = join(work, `loop-${loops.length}-${Date.now()}.img`);
  writeFileSync(file, '');
  sh('truncate', ['-s', String(sizeBytes), file]);
  if (opts.partition) sh('sfdisk', ['-q', file], 'label: gpt\n,\n');
  const dev = sh('losetup', ['-f', '--show', ...(opts.partition ? ['-P'] : []), file]);
  loops.push(dev);
  if (opts.partition) {
    try {
      sh('partx', ['-a', dev]);
    } catch {
      // losetup -P already created the nodes
    }
  }
  return { dev, file };
}

function fakeCli(): Cli & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
    setExitCode: () => {},
    progress: (e) => {
      if (e.message) lines.push(e.message);
    },
    isTTY: false,
  };
}

/** Runs `make-iso write ...args` in-process; returns the error (if any) and the output. */
async function cliWrite(args: string[], deps: Partial<WriteDeps> = {}): Promise<{ error?: unknown; lines: string[] }> {
  const cli = fakeCli();
  const program = new Command('make-iso').exitOverride();
  register(program, cli, {
    canPrompt: () => false,
    confirmTyped: async () => false,
    ...deps,
  });
  try {
    await program.parseAsync(['write', ...args], { from: 'user' });
    return { lines: cli.lines };
  } catch (error) {
    return { error, lines: cli.lines };
  }
}

function refusalOf(r: { error?: unknown }): string {
  expect(r.error).toBeInstanceOf(UserError);
  expect((r.error as MakeIsoError).exitCode).toBe(ExitCode.badInput);
  return (r.error as Error).message;
}

describe.skipIf(!isRoot)('make-iso write on real I/O', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'make-iso-usb-'));
    iso = makeIso(work);
    isoSize = statSync(iso).size;
    hybridIso = makeHybridIso(work);
  });

  afterEach(() => {
    for (const m of mounts.splice(0).reverse()) {
      try {
        sh('umount', [m]);
      } catch {
        // already unmounted by the test
      }
    }
    for (const dev of loops.splice(0).reverse()) {
      try {
        sh('partx', ['-d', dev]);
      } catch {
        // no partitions
      }
      sh('losetup', ['-d', dev]);
    }
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('writes a new image file and verifies it', async () => {
    const out = join(work, 'new.img');
    const events: string[] = [];
    const r = await writeImage({
      source: iso,
      target: out,
      kind: 'file',
      progress: (e) => events.push(`${e.step}:${e.kind}`),
    });
    expect(r.verified).toBe(true);
    expect(r.sha256).toBe(sha256File(iso));
    expect(sha256File(out)).toBe(r.sha256);
    expect(events).toContain('write:start');
    expect(events).toContain('verify:end');
    rmSync(out);
  });

  it('writes to a loop device with O_DIRECT and verifies it', async () => {
    const { dev, file } = makeLoop(64 * MiB);
    const r = await writeImage({ source: iso, target: dev, kind: 'block' });
    expect(r).toMatchObject({ verified: true, direct: true, bytes: isoSize });
    expect(sha256File(file, isoSize)).toBe(sha256File(iso));
  });

  it('writes to a loop device with buffered I/O (fsync + flushbufs) and verifies it', async () => {
    const { dev, file } = makeLoop(64 * MiB);
    const r = await writeImage({ source: iso, target: dev, kind: 'block', direct: 'off' });
    expect(r).toMatchObject({ verified: true, direct: false });
    expect(sha256File(file, isoSize)).toBe(sha256File(iso));
  });

  it('writes a source whose size is not a multiple of 4096 (tail through a buffered handle)', async () => {
    const odd = join(work, 'odd.bin');
    writeFileSync(odd, randomBytes(5 * MiB + 1234));
    const { dev, file } = makeLoop(16 * MiB);
    const r = await writeImage({ source: odd, target: dev, kind: 'block', blockSize: MiB });
    expect(r).toMatchObject({ verified: true, direct: true, bytes: 5 * MiB + 1234 });
    expect(sha256File(file, 5 * MiB + 1234)).toBe(sha256File(odd));
  });

  it('catches a byte flipped on the loop device before the read-back, naming its offset', async () => {
    const { dev, file } = makeLoop(64 * MiB);
    const badOffset = 5 * MiB + 777;
    const err = await writeImage({
      source: iso,
      target: dev,
      kind: 'block',
      afterWrite: () => {
        // Real corruption under the device: flip a byte in the loop device's backing file.
        const fd = openSync(file, 'r+');
        const b = Buffer.alloc(1);
        b[0] = (readFileSync(file).subarray(badOffset, badOffset + 1)[0] ?? 0) ^ 0xff;
        writeSync(fd, b, 0, 1, badOffset);
        closeSync(fd);
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect((err as VerificationError).exitCode).toBe(ExitCode.verifyFailed);
    expect((err as Error).message).toContain(`first bad byte at offset ${badOffset}`);
    expect((err as VerificationError).expected).toBe(sha256File(iso));
  });

  it('catches a corrupted image file the same way', async () => {
    const out = join(work, 'corrupt.img');
    const err = await writeImage({
      source: iso,
      target: out,
      kind: 'file',
      afterWrite: () => {
        const fd = openSync(out, 'r+');
        writeSync(fd, Buffer.from([0x5a ^ (readFileSync(out)[123] ?? 0)]), 0, 1, 123);
        closeSync(fd);
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('first bad byte at offset 123');
    rmSync(out);
  });

  it('stops on abort, says the device is incomplete, and clears its first MiB', async () => {
    const { dev, file } = makeLoop(64 * MiB);
    writeFileSync(file, Buffer.alloc(MiB, 0xee), { flag: 'r+' });
    const ac = new AbortController();
    const err = await writeImage({
      source: iso,
      target: dev,
      kind: 'block',
      blockSize: MiB,
      signal: ac.signal,
      progress: (e) => {
        if (e.kind === 'progress' && (e.done ?? 0) >= 3 * MiB) ac.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as Error).message).toMatch(/is incomplete .* first MiB was cleared/);
    const head = readFileSync(file).subarray(0, MiB);
    expect(head.every((b) => b === 0)).toBe(true);
  });

  it('refuses without --yes when stdin is not a terminal', async () => {
    const { dev } = makeLoop(64 * MiB);
    const msg = refusalOf(await cliWrite([iso, dev, '--allow-internal-disk']));
    expect(msg).toContain('stdin is not a terminal');
    expect(msg).toContain('add --yes');
  });

  it('writes through the CLI after the typed confirmation', async () => {
    const { dev, file } = makeLoop(64 * MiB);
    const asked: string[] = [];
    const r = await cliWrite([iso, dev, '--allow-internal-disk'], {
      canPrompt: () => true,
      confirmTyped: async (q, expected) => {
        asked.push(q);
        return expected === dev.replace('/dev/', '');
      },
    });
    expect(r.error).toBeUndefined();
    expect(asked[0]).toContain(`Type ${dev.replace('/dev/', '')}`);
    expect(r.lines.join('\n')).toContain(`About to write ${iso}`);
    expect(r.lines.join('\n')).toMatch(/written and verified .* sha256 [0-9a-f]{64}/);
    expect(sha256File(file, isoSize)).toBe(sha256File(iso));
  });

  it('refuses when the confirmation does not match', async () => {
    const { dev } = makeLoop(64 * MiB);
    const r = await cliWrite([iso, dev, '--allow-internal-disk'], {
      canPrompt: () => true,
      confirmTyped: async () => false,
    });
    expect(refusalOf(r)).toContain('nothing was written');
  });

  it('refuses a loop device (non-removable) without --allow-internal-disk, even with --force', async () => {
    const { dev } = makeLoop(64 * MiB);
    const want = /not a removable or USB drive; add --allow-internal-disk/;
    expect(refusalOf(await cliWrite([iso, dev, '--yes']))).toMatch(want);
    expect(refusalOf(await cliWrite([iso, dev, '--yes', '--force']))).toMatch(want);
  });

  it('refuses a partition, naming its drive', async () => {
    const { dev } = makeLoop(64 * MiB, { partition: true });
    const msg = refusalOf(await cliWrite([iso, `${dev}p1`, '--yes', '--allow-internal-disk']));
    expect(msg).toContain(`${dev}p1 is a partition of ${dev}; write to the whole drive ${dev}`);
  });

  it('refuses a drive with a mounted partition, and --unmount unmounts it and writes', async () => {
    const { dev, file } = makeLoop(64 * MiB, { partition: true });
    sh('mkfs.ext4', ['-q', '-L', 'USBTEST', `${dev}p1`]);
    const mnt = mkdtempSync(join(work, 'mnt-'));
    sh('mount', [`${dev}p1`, mnt]);
    mounts.push(mnt);
    const msg = refusalOf(await cliWrite([iso, dev, '--yes', '--allow-internal-disk']));
    expect(msg).toContain(`has mounted partitions (${dev}p1 on ${mnt}); unmount them, or add --unmount`);
    const r = await cliWrite([iso, dev, '--yes', '--allow-internal-disk', '--unmount']);
    expect(r.error).toBeUndefined();
    expect(r.lines.join('\n')).toContain(`unmounted ${mnt}`);
    // what is on it now, probed with blkid where udev does not fill lsblk's FSTYPE/LABEL
    expect(r.lines.join('\n')).toMatch(new RegExp(`${dev}p1  ext4, "USBTEST", [\\d.]+ MiB, mounted on ${mnt}`));
    expect(sha256File(file, isoSize)).toBe(sha256File(iso));
  });

  it('refuses a drive smaller than the ISO', async () => {
    const { dev } = makeLoop(2 * MiB);
    expect(refusalOf(await cliWrite([iso, dev, '--yes', '--allow-internal-disk']))).toContain(
      `${dev} is too small: 2.0 MiB`,
    );
  });

  it('refuses a character device and a directory', async () => {
    expect(refusalOf(await cliWrite([iso, '/dev/null', '--yes']))).toContain('/dev/null is not a block device');
    expect(refusalOf(await cliWrite([iso, work, '--yes']))).toContain('is a directory');
  });

  it('refuses a missing /dev path instead of creating a file there', async () => {
    expect(refusalOf(await cliWrite([iso, '/dev/sdzz', '--yes']))).toContain(
      '/dev/sdzz does not exist; plug the drive in',
    );
  });

  it('refuses the disk holding / (checked only: no write is attempted)', async () => {
    const src = await inspectSource(iso);
    const t = await inspectTarget('/dev/vda', src);
    const refusals = checkTarget(t, src, { force: true, allowInternalDisk: true, unmount: true });
    expect(refusals.map((r) => r.code)).toContain('system');
    expect(refusals.find((r) => r.code === 'system')?.message).toMatch(
      /system drive \(.*holds \/.*\); make-iso never writes to it/,
    );
  });

  it('never truncates a larger existing image file without --force, keeps its size with it', async () => {
    const big = join(work, 'big.img');
    writeFileSync(big, Buffer.alloc(isoSize + MiB, 0x11));
    expect(refusalOf(await cliWrite([iso, big, '--yes']))).toContain('is an existing file larger than the ISO');
    const r = await cliWrite([iso, big, '--yes', '--force']);
    expect(r.error).toBeUndefined();
    expect(statSync(big).size).toBe(isoSize + MiB);
    expect(sha256File(big, isoSize)).toBe(sha256File(iso));
    rmSync(big);
  });

  it('--data-partition adds a FAT partition labelled MAKEISO-LOG after the ISO and leaves the ISO bytes intact', async () => {
    const { dev, file } = makeLoop(64 * MiB);
    const hybridSize = statSync(hybridIso).size;
    const r = await cliWrite([hybridIso, dev, '--yes', '--allow-internal-disk', '--data-partition']);
    expect(r.error).toBeUndefined();
    expect(r.lines.join('\n')).toMatch(/added a [\d.]+ MiB FAT partition "MAKEISO-LOG" at 20\.0 MiB/);
    const table = JSON.parse(sh('sfdisk', ['--json', file])) as {
      partitiontable: { partitions: { start: number; size: number; name?: string }[] };
    };
    const data = table.partitiontable.partitions.find((p) => p.name === 'make-iso data');
    expect(data?.start).toBe(40960);
    expect((data?.start ?? 0) * 512).toBeGreaterThanOrEqual(hybridSize);
    const probe = sh('blkid', ['-p', '-o', 'export', '-O', String((data?.start ?? 0) * 512), file]);
    expect(probe).toContain('LABEL=MAKEISO-LOG');
    expect(probe).toContain('TYPE=vfat');
    // The ISO's own bytes past the partition tables are untouched.
    const written = readFileSync(file).subarray(64 * 512, hybridSize);
    expect(written.equals(readFileSync(hybridIso).subarray(64 * 512))).toBe(true);
  });

  it('--data-partition refuses before writing when there is no room or no partition table', async () => {
    const out = join(work, 'tight.img');
    expect(refusalOf(await cliWrite([hybridIso, out, '--yes', '--data-partition']))).toMatch(
      /no room for a data partition/,
    );
    expect(() => statSync(out)).toThrow();
    const { dev } = makeLoop(64 * MiB);
    expect(refusalOf(await cliWrite([iso, dev, '--yes', '--allow-internal-disk', '--data-partition']))).toMatch(
      /has no partition table \(not a hybrid ISO\)/,
    );
  });

  it('the wizard offer applies the same rules: a loop device (non-removable) is never offered', async () => {
    const { dev, file } = makeLoop(64 * MiB);
    const inv = await readInventory();
    const loopDrive = inv.drives.find((d) => d.path === dev);
    expect(loopDrive).toBeDefined();
    const cli = fakeCli();
    let offered = false;
    await usbWriteOffer(cli, async () => (loopDrive ? [loopDrive] : []))(iso, {
      confirm: async () => true,
      select: async <T>() => ((offered = true), dev as T),
      text: async () => dev.replace('/dev/', ''),
    });
    expect(offered).toBe(false);
    expect(cli.lines.join('\n')).toContain('no removable or USB drives found');
    expect(readFileSync(file).every((b) => b === 0)).toBe(true);
  });

  it('never writes a device that changed after the checks (another drive under the same name)', async () => {
    const { dev, file } = makeLoop(64 * MiB);
    const err = await writeImage({ source: iso, target: dev, kind: 'block', expectMajMin: '7:9999' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/is now a different device .* nothing was written/);
    expect(readFileSync(file).every((b) => b === 0)).toBe(true);
  });

  it('reports an I/O failure (a full disk here) as a user-facing error that says what state the target is in', async () => {
    const mnt = mkdtempSync(join(work, 'tiny-'));
    sh('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    mounts.push(mnt);
    const err = await writeImage({ source: iso, target: join(mnt, 'out.img'), kind: 'file' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /^writing .*out\.img failed at byte \d+: ENOSPC.*; .*out\.img is incomplete .* first MiB was cleared .* Check the drive/,
    );
  });
});
