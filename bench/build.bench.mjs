// Why: issue 14's targets as ratios to an I/O floor measured side by side in the same run
// (median of >= 5, interleaved), because absolute times on shared cores mean little:
//   floor  read the release + xorriso writing the same kernel, initramfs and OS image + sync
//   cold   make-iso build, nothing cached (a fresh, empty cache dir)          target <= 1.5x
//   warm   make-iso build, same bootkit, other answers (cache filled)         target <= 1.2x
//   N      make-iso build --nodes (N per-node ISOs in one run, warm cache), vs N x floor  target <= 1.2x
// with make-iso's peak RSS (target < 300 MB). Inputs come from bench/inputs.mjs.
// Needs `npm run build` (and root on first use: the Debian fixture builder). Usage:
//   node bench/build.bench.mjs [--rounds 5] [--bootkit x1|x3] [--os fixture|1g|4g] [--nodes 1,10]
//                              [--nodes-os fixture] [--nodes-rounds 3] [--dir /tmp] [--profile DIR]
// --profile DIR writes a --cpu-prof of one cold and one warm build there (open in Chrome devtools).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchInputs } from './inputs.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    bootkit: { type: 'string', default: 'x1' },
    os: { type: 'string', default: '1g' },
    nodes: { type: 'string', default: '1,10' },
    'nodes-os': { type: 'string', default: 'fixture' },
    'nodes-rounds': { type: 'string', default: '3' },
    dir: { type: 'string', default: '/tmp' },
    profile: { type: 'string' },
  },
});
const root = resolve(import.meta.dirname, '..');
const rounds = Number(values.rounds);
const gib = (k) => (/^\d+g$/.test(k) ? [Number(k.slice(0, -1))] : []);
const inputs = await benchInputs({
  osGib: [...new Set([...gib(values.os), ...gib(values['nodes-os'])])],
  bootkitFactors: [Number(values.bootkit.slice(1))],
});
const release = inputs.bootkits[values.bootkit];
const osImage = inputs.osImages[values.os];
const nodesOs = inputs.osImages[values['nodes-os']];
const work = mkdtempSync(join(values.dir, 'make-iso-build-bench-'));
const hash = execFileSync('openssl', ['passwd', '-6', '-salt', 'bench', 'bench'], { encoding: 'utf8' }).trim();
// the floor grafts the files the release holds: unpack them once
const unpacked = join(work, 'release');
mkdirSync(unpacked);
execFileSync('tar', ['-xf', release, '-C', unpacked]);
const members = execFileSync('tar', ['-tf', release], { encoding: 'utf8' }).split('\n').filter(Boolean);
const kernel = join(
  unpacked,
  members.find((m) => /vmlinuz/.test(m)),
);
const initrd = join(
  unpacked,
  members.find((m) => /initr/.test(m)),
);

let serial = 0;
/** An answers file; every call gets another hostname (so a warm build is a new build). */
function answers(os, output) {
  const file = join(work, `answers-${++serial}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      bootkit: { archive: release },
      osImage: { path: os },
      output: { path: output, sourceDateEpoch: 1700000000 },
      user: { name: 'bench', passwordHash: hash },
      hostname: `bench-${serial}`,
    }),
    { mode: 0o600 },
  );
  return file;
}

/** Runs argv under /usr/bin/time -v; returns seconds, peak RSS (MB) and CPU seconds. */
function timed(argv, env = {}) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', ...argv], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${r.stderr}`);
  const seconds = (performance.now() - t0) / 1000;
  const num = (re) => Number(re.exec(r.stderr)?.[1] ?? 0);
  return {
    seconds,
    rss: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
    cpu: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
  };
}

function floor(os, out) {
  return timed([
    'sh',
    '-c',
    'out=$1 rel=$2; shift 2; cat "$rel" > /dev/null && xorriso "$@" && sync "$out"',
    'sh',
    out,
    release,
    '-as',
    'mkisofs',
    '-quiet',
    '-o',
    out,
    '-V',
    'FLOOR',
    '-r',
    '-graft-points',
    `/boot/vmlinuz=${kernel}`,
    `/boot/initrd.img=${initrd}`,
    `/images/os-image.raw.gz=${os}`,
  ]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cli = [process.execPath, join(root, 'dist', 'cli', 'main.js')];
const warmCache = join(work, 'cache-warm');
const build = (cache, os, extra = []) =>
  timed([...cli, 'build', '--answers', answers(os, join(work, 'out.iso')), '--force', '--quiet', ...extra], {
    MAKE_ISO_CACHE: cache,
  });
const rows = [];
const row = (name, runs, floorSeconds, target) => {
  const s = median(runs.map((r) => r.seconds));
  rows.push({
    name,
    s,
    ratio: s / floorSeconds,
    target,
    rss: median(runs.map((r) => r.rss)),
    cpu: median(runs.map((r) => r.cpu)),
  });
};
try {
  build(warmCache, osImage); // fills the warm cache (and the page cache)
  // the N rows are warm too: same bootkit, and their OS image already hashed and probed once
  if (values.nodes && nodesOs !== osImage) build(warmCache, nodesOs);
  if (values.profile) {
    mkdirSync(values.profile, { recursive: true });
    const prof = (name, cache) =>
      timed(
        [
          process.execPath,
          '--cpu-prof',
          '--cpu-prof-dir',
          values.profile,
          '--cpu-prof-name',
          `${name}.cpuprofile`,
          ...cli.slice(1),
          'build',
          '--answers',
          answers(osImage, join(work, 'out.iso')),
          '--force',
          '--quiet',
        ],
        { MAKE_ISO_CACHE: cache },
      );
    prof('cold', join(work, 'cache-prof'));
    prof('warm', warmCache);
    rmSync(join(work, 'cache-prof'), { recursive: true, force: true });
  }
  const r = { floor: [], cold: [], warm: [] };
  for (let i = 0; i < rounds; i++) {
    r.floor.push(floor(osImage, join(work, 'floor.iso')));
    const coldCache = join(work, `cache-cold-${i}`);
    r.cold.push(build(coldCache, osImage));
    rmSync(coldCache, { recursive: true, force: true });
    r.warm.push(build(warmCache, osImage));
  }
  const f = median(r.floor.map((x) => x.seconds));
  row('floor: read release + xorriso same files + sync', r.floor, f, '');
  row('cold build (empty cache)', r.cold, f, '<= 1.5');
  row('warm build (same bootkit, new answers)', r.warm, f, '<= 1.2');
  const nodeCounts = values.nodes.split(',').filter(Boolean).map(Number);
  const nRounds = Number(values['nodes-rounds']);
  for (const n of nodeCounts) {
    const nodesFile = join(work, `nodes-${n}.yaml`);
    writeFileSync(
      nodesFile,
      `nodes:\n${Array.from({ length: n }, (_, k) => `  - hostname: node-${k + 1}\n`).join('')}`,
    );
    const fl = [];
    const runs = [];
    for (let i = 0; i < nRounds; i++) {
      fl.push(floor(nodesOs, join(work, 'floor.iso')));
      const outDir = join(work, `nodes-out-${n}`);
      runs.push(
        timed(
          [
            ...cli,
            'build',
            '--answers',
            answers(nodesOs, join(work, 'unused.iso')),
            '--nodes',
            nodesFile,
            '--output-dir',
            outDir,
            '--force',
            '--quiet',
          ],
          { MAKE_ISO_CACHE: warmCache },
        ),
      );
      rmSync(outDir, { recursive: true, force: true });
    }
    row(
      `N=${n} per-node ISOs (os ${values['nodes-os']}), vs N x floor`,
      runs,
      n * median(fl.map((x) => x.seconds)),
      '<= 1.2',
    );
  }
  const sz = (p) => (inputs.sizes[p] / 1e6).toFixed(1);
  console.log(
    `build bench: release ${values.bootkit} (${sz(values.bootkit)} MB), OS image ${values.os} (${sz(values.os)} MB gz), median of ${rounds}, interleaved`,
  );
  console.log('| what | wall s | ratio to floor | target | CPU s | peak RSS MB |');
  console.log('|---|---|---|---|---|---|');
  for (const x of rows) {
    console.log(
      `| ${x.name} | ${x.s.toFixed(2)} | ${x.ratio.toFixed(2)} | ${x.target} | ${x.cpu.toFixed(2)} | ${x.rss.toFixed(0)} |`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
