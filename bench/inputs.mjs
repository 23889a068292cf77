// Why: the build bench's inputs at three sizes, generated (never downloaded) and cached, so every
// run measures the same bytes: the Debian fixture bootkit, the same bootkit made 3x larger, and
// OS images of 1 GiB and 4 GiB raw (EMT images are about 4 GiB raw). Content is deterministic
// (AES-CTR of a fixed key for the incompressible part, counter-numbered text for the rest) so the
// compressed sizes, and so the times, are comparable between machines and runs.
//   node bench/inputs.mjs [--os-gib 1,4] [--bootkit 1,3]   (prints the paths as JSON)
// Cached in <make-iso cache>/bench/<GENERATOR_VERSION>/ (a lock serialises concurrent makers).
import { execFileSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const GENERATOR_VERSION = 'v2'; // v2: named partitions and an ext4 rootfs (the build's probe reads it)
const MiB = 1024 * 1024;
const root = resolve(import.meta.dirname, '..');

/** Deterministic 1 MiB blocks: 'random' (AES-CTR keystream) or 'text' (about 8:1 with gzip). */
function block(kind, index) {
  if (kind === 'random') {
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(index, 12);
    return createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), iv).update(Buffer.alloc(MiB));
  }
  const lines = [];
  let n = 0;
  while (n < MiB) {
    const line = `usr/lib/x86_64-linux-gnu/lib${index % 97}-${n % 1013}.so.${n % 7} sha256=${((index * 2654435761 + n) >>> 0).toString(16)}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, MiB);
}

/** newc cpio entry (header + name + data, each padded to 4). */
function cpioEntry(name, mode, data, ino) {
  const hex = (v) => v.toString(16).padStart(8, '0');
  const nameBuf = Buffer.from(`${name}\0`);
  const head = `070701${[ino, mode, 0, 0, 1, 1700000000, data.length, 0, 0, 0, 0, nameBuf.length, 0].map(hex).join('')}`;
  const pad = (n) => Buffer.alloc((4 - (n % 4)) % 4);
  return Buffer.concat([Buffer.from(head), nameBuf, pad(110 + nameBuf.length), data, pad(data.length)]);
}

/** A release 3x the fixture's: its initramfs gains one gzip'd cpio archive of padding files. */
function makeLargerBootkit(fixtureBuild, dir, factor) {
  const name = `bootkit-x${factor}.tar.gz`;
  const out = join(dir, name);
  if (existsSync(out)) return out;
  const work = join(dir, `x${factor}.work`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // the release's own member names (vmlinuz-<kver>, initramfs-<kver>.img)
  const members = execFileSync('tar', ['-tf', fixtureBuild.tarball], { encoding: 'utf8' }).split('\n');
  const kernelName = members.find((m) => /(^|\/)vmlinuz/.test(m));
  const initrdName = members.find((m) => /(^|\/)initr/.test(m));
  execFileSync('cp', [fixtureBuild.kernel, join(work, kernelName)]);
  const initrd = readFileSync(fixtureBuild.initramfs);
  // half random, half text: about 2:1 like real binaries; sized so the release grows factor-fold
  const extraCompressed = (factor - 1) * fixtureBuild.tarballBytes;
  const parts = [];
  let compressed = 0;
  for (let i = 0; compressed < extraCompressed; i++) {
    const data = Buffer.concat([block('random', 100000 + i), block('text', i)]);
    parts.push(cpioEntry(`usr/share/make-iso-bench/pad-${i}.bin`, 0o100644, data, 900000 + i));
    compressed += MiB + MiB / 8;
  }
  parts.push(cpioEntry('TRAILER!!!', 0, Buffer.alloc(0), 0));
  const archive = gzipSync(Buffer.concat(parts), { level: 6 });
  const padded = Buffer.concat([initrd, Buffer.alloc((4 - (initrd.length % 4)) % 4), archive]);
  const fd = openSync(join(work, initrdName), 'w');
  writeSync(fd, padded);
  closeSync(fd);
  execFileSync('tar', ['-czf', `${out}.tmp`, '-C', work, kernelName, initrdName]);
  renameSync(`${out}.tmp`, out);
  rmSync(work, { recursive: true, force: true });
  return out;
}

/**
 * An OS image of `gib` GiB raw: a GPT disk (esp, rootfs, edge_persistent, named as EMT names
 * them) that is 3/8 data (half random, half text) and 5/8 zeros, like a filesystem image with
 * free space; pigz -6. The rootfs is a real ext4 (mkfs.ext4 -d, its data as 1 MiB files) because
 * the build's probe opens it with debugfs; esp and edge_persistent hold the data pattern raw,
 * without a file system (the probe only reads their superblock magic). Needs mkfs.ext4, sgdisk, pigz.
 */
function makeOsImage(dir, gib) {
  const out = join(dir, `os-${gib}g.raw.gz`);
  if (existsSync(out)) return out;
  const raw = join(dir, `os-${gib}g.raw`);
  const tree = join(dir, `os-${gib}g.tree`);
  const size = gib * 1024 * MiB;
  rmSync(raw, { force: true });
  rmSync(tree, { recursive: true, force: true });
  closeSync(openSync(raw, 'w'));
  execFileSync('truncate', ['-s', String(size), raw]);
  // rootfs 60% of what follows the esp (sgdisk reads "+60%" as 60 sectors: sizes in MiB)
  const rootMiB = Math.floor(((size / MiB - 102) * 0.6) / 4) * 4;
  const parts = ['1:2048:+100M', `2:0:+${rootMiB}M`, '3:0:0'];
  const names = ['1:esp', '2:rootfs', '3:edge_persistent'];
  execFileSync(
    'sgdisk',
    [
      ...parts.flatMap((p) => ['-n', p]),
      '-t',
      '1:ef00',
      '-t',
      '2:8300',
      '-t',
      '3:8300',
      ...names.flatMap((n) => ['-c', n]),
      raw,
    ],
    { stdio: 'ignore' },
  );
  const table = JSON.parse(execFileSync('sfdisk', ['--json', raw], { encoding: 'utf8' })).partitiontable.partitions;
  const span = (i) => ({ from: table[i].start * 512, to: (table[i].start + table[i].size) * 512 });
  // the data pattern, per 16 MiB: 3 random MiB, 3 text MiB, 10 zero MiB
  const pattern = (from, to, put) => {
    for (let off = from + 16 * MiB, i = 0; off + 16 * MiB < to; off += 16 * MiB, i++) {
      for (let k = 0; k < 3; k++) put(block('random', i * 3 + k), off + k * MiB, `r${i}-${k}`);
      for (let k = 0; k < 3; k++) put(block('text', i * 3 + k), off + (3 + k) * MiB, `t${i}-${k}`);
    }
  };
  const root = span(1);
  mkdirSync(join(tree, 'data'), { recursive: true });
  mkdirSync(join(tree, 'etc'));
  writeFileSync(join(tree, 'etc', 'hostname'), 'bench\n');
  // the rootfs's share of the data as files, leaving room for ext4's own metadata
  pattern(root.from, root.to - 32 * MiB, (buf, _at, name) => writeFileSync(join(tree, 'data', name), buf));
  execFileSync(
    'mkfs.ext4',
    ['-q', '-F', '-E', `offset=${root.from}`, '-d', tree, raw, `${(root.to - root.from) / 1024}k`],
    {
      stdio: 'ignore',
    },
  );
  rmSync(tree, { recursive: true, force: true });
  const fd = openSync(raw, 'r+');
  try {
    for (const i of [0, 2]) {
      const { from, to } = span(i);
      pattern(from, to, (buf, at) => writeSync(fd, buf, 0, MiB, at));
    }
  } finally {
    closeSync(fd);
  }
  execFileSync('sh', ['-c', 'pigz -6 -c "$1" > "$2.tmp" && mv "$2.tmp" "$2"', 'sh', raw, out]);
  rmSync(raw, { force: true });
  return out;
}

/** Ensures the inputs asked for; returns their paths. */
export async function benchInputs({ osGib = [1, 4], bootkitFactors = [1, 3] } = {}) {
  const { ensureFixtures, cacheRoot, acquireLock } = await import(join(root, 'test', 'helpers', 'fixtures.ts'));
  const fx = await ensureFixtures();
  const build = fx.builds['full-gzip'];
  const dir = join(cacheRoot(), 'bench', GENERATOR_VERSION);
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '.lock');
  await acquireLock(lock, async () => false);
  try {
    const bootkits = {};
    for (const f of bootkitFactors) bootkits[`x${f}`] = f === 1 ? build.tarball : makeLargerBootkit(build, dir, f);
    const osImages = { fixture: fx.osImage };
    for (const g of osGib) osImages[`${g}g`] = makeOsImage(dir, g);
    const sizes = Object.fromEntries(
      [...Object.entries(bootkits), ...Object.entries(osImages)].map(([k, p]) => [k, statSync(p).size]),
    );
    return { bootkits, osImages, sizes, kernel: build.kernel, initramfs: build.initramfs };
  } finally {
    rmSync(lock, { force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({
    options: { 'os-gib': { type: 'string', default: '1,4' }, bootkit: { type: 'string', default: '1,3' } },
  });
  const list = (s) => s.split(',').filter(Boolean).map(Number);
  console.log(
    JSON.stringify(await benchInputs({ osGib: list(values['os-gib']), bootkitFactors: list(values.bootkit) }), null, 2),
  );
}
