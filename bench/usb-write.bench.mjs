// Why: measures `make-iso write` throughput against `dd bs=4M oflag=direct conv=fsync` on the
// same loop device, side by side in one run, so the writer's speed claim is reproducible.
// Needs root and a build (`npm run build`). Usage:
//   node bench/usb-write.bench.mjs [--iso FILE] [--size-mib 1024] [--rounds 3] [--dir /tmp] [--loop-direct-io]
// --loop-direct-io attaches the loop device with --direct-io=on, so writes reach the backing
// disk instead of the page cache: closer to a real (device-bound) USB stick.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { writeImage } from '../dist/usb/image-writer.js';

const { values } = parseArgs({
  options: {
    iso: { type: 'string' },
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: '/tmp' },
    'loop-direct-io': { type: 'boolean', default: false },
  },
});
if (process.getuid?.() !== 0) {
  console.error('usb-write bench: needs root (it attaches a loop device)');
  process.exit(2);
}

const MiB = 1024 * 1024;
const work = mkdtempSync(join(values.dir, 'make-iso-bench-'));
let iso = values.iso;
if (!iso) {
  // Random bytes: nothing compresses or deduplicates along the way.
  iso = join(work, 'source.bin');
  const fd = openSync(iso, 'w');
  for (let i = 0; i < Number(values['size-mib']); i++) writeSync(fd, randomBytes(MiB));
  closeSync(fd);
}
const size = statSync(iso).size;
const backing = join(work, 'target.img');
execFileSync('truncate', ['-s', String(size + 64 * MiB), backing]);
const loopArgs = ['-f', '--show', ...(values['loop-direct-io'] ? ['--direct-io=on'] : []), backing];
const dev = execFileSync('losetup', loopArgs, { encoding: 'utf8' }).trim();

const sec = (t0) => (performance.now() - t0) / 1000;
const dd = () => {
  const t0 = performance.now();
  execFileSync('dd', [`if=${iso}`, `of=${dev}`, 'bs=4M', 'oflag=direct', 'conv=fsync', 'status=none']);
  return sec(t0);
};
const mi = async (direct, verify) => {
  const t0 = performance.now();
  const r = await writeImage({ source: iso, target: dev, kind: 'block', direct, verify });
  return { total: sec(t0), write: r.writeSeconds, verify: r.verifySeconds };
};

/** sha256 of the (cached) source alone: the CPU ceiling of any write that hashes. */
const hashOnly = () => {
  const t0 = performance.now();
  const fd = openSync(iso, 'r');
  const buf = Buffer.allocUnsafe(4 * MiB);
  const h = createHash('sha256');
  for (let pos = 0, n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) h.update(buf.subarray(0, n));
  closeSync(fd);
  h.digest();
  return sec(t0);
};

const rows = { dd: [], direct: [], buffered: [], verify: [], hash: [] };
try {
  execFileSync('cat', [iso], { stdio: ['ignore', 'ignore', 'ignore'] }); // source into page cache for all
  dd(); // warm-up: allocates the backing file's blocks
  const rounds = Number(values.rounds);
  for (let i = 0; i < rounds; i++) {
    rows.dd.push(dd());
    const d = await mi('on', true);
    rows.direct.push(d.write);
    rows.verify.push(d.verify);
    rows.buffered.push((await mi('off', false)).write);
    rows.hash.push(hashOnly());
  }
} finally {
  execFileSync('losetup', ['-d', dev]);
  rmSync(work, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbs = (s) => size / s / 1e6;
const ddRate = mbs(median(rows.dd));
const how = values['loop-direct-io'] ? 'loop --direct-io=on' : 'loop, buffered backing file';
console.log(
  `usb-write bench: ${(size / MiB).toFixed(0)} MiB to ${dev} (${how}, file in ${values.dir}), median of ${rows.dd.length}`,
);
const line = (name, s) =>
  console.log(
    `  ${name.padEnd(44)} ${mbs(s).toFixed(1).padStart(8)} MB/s   ratio vs dd ${(mbs(s) / ddRate).toFixed(2)}`,
  );
line('dd bs=4M oflag=direct conv=fsync', median(rows.dd));
line('make-iso write (O_DIRECT, sha256, fsync)', median(rows.direct));
line('make-iso write (buffered, sha256, fsync)', median(rows.buffered));
console.log(
  `  ${'make-iso read-back verify (O_DIRECT)'.padEnd(44)} ${mbs(median(rows.verify)).toFixed(1).padStart(8)} MB/s`,
);
console.log(
  `  ${'read + sha256 only, no device (CPU ceiling)'.padEnd(44)} ${mbs(median(rows.hash)).toFixed(1).padStart(8)} MB/s`,
);
