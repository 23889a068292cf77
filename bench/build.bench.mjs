// Why: the generator's speed goal ("a build within about 1.5x the time xorriso needs to write
// the same files") measured on the Debian fixture bootkit: `make-iso build` (overlay and
// rewrite) against plain xorriso writing the same kernel, initramfs and OS image, alternating
// in one run, with make-iso's peak memory from /usr/bin/time.
// Needs `npm run build`, root (the fixture builder) on first use. Usage:
//   node bench/build.bench.mjs [--rounds 3] [--dir /tmp] [--os-image-mib N]
// --os-image-mib N uses a synthetic N MiB OS image (random bytes named *.raw.gz: the generator
// only hashes and copies it) instead of the tiny fixture image, for a release-sized build.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string', default: '/tmp' },
    'os-image-mib': { type: 'string', default: '0' },
  },
});
const root = resolve(import.meta.dirname, '..');
const rounds = Number(values.rounds);
const { ensureFixtures } = await import(join(root, 'test', 'helpers', 'fixtures.ts'));
const fx = await ensureFixtures();
const work = mkdtempSync(join(values.dir, 'make-iso-build-bench-'));
const hash = execFileSync('openssl', ['passwd', '-6', '-salt', 'bench', 'bench'], { encoding: 'utf8' }).trim();
const build = fx.builds['full-gzip'];
const osMiB = Number(values['os-image-mib']);
let osImage = fx.osImage;
if (osMiB > 0) {
  osImage = join(work, 'synthetic.raw.gz');
  execFileSync('head', ['-c', String(osMiB * 1024 * 1024), '/dev/urandom'], {
    stdio: ['ignore', openSync(osImage, 'w'), 'inherit'],
  });
}

function answers(mode) {
  const file = join(work, `${mode}.yaml`);
  writeFileSync(
    file,
    JSON.stringify({
      bootkit: { archive: build.tarball },
      osImage: { path: osImage },
      output: { path: join(work, `${mode}.iso`), sourceDateEpoch: 1700000000 },
      user: { name: 'bench', passwordHash: hash },
      mode,
    }),
  );
  return file;
}

/** Runs argv under /usr/bin/time -v; returns seconds and peak RSS (MB). */
function timed(argv) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', ...argv], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${r.stderr}`);
  const seconds = (performance.now() - t0) / 1000;
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? 0) / 1024;
  return { seconds, rss };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cli = [process.execPath, join(root, 'dist', 'cli', 'main.js')];
const files = { overlay: answers('overlay'), rewrite: answers('rewrite') };
const results = { xorriso: [], overlay: [], rewrite: [] };
const rss = { overlay: [], rewrite: [] };
try {
  for (let i = 0; i < rounds; i++) {
    // baseline: xorriso alone writes the same three big files (no boot images, no hashing),
    // then fsyncs the image as make-iso does before renaming it into place
    const base = timed([
      'sh',
      '-c',
      'out=$1; shift; xorriso "$@" && sync "$out"',
      'sh',
      join(work, 'baseline.iso'),
      '-as',
      'mkisofs',
      '-quiet',
      '-o',
      join(work, 'baseline.iso'),
      '-V',
      'BASELINE',
      '-r',
      '-graft-points',
      `/boot/vmlinuz=${build.kernel}`,
      `/boot/initrd.img=${build.initramfs}`,
      `/images/os-image.raw.gz=${osImage}`,
    ]);
    results.xorriso.push(base.seconds);
    for (const mode of ['overlay', 'rewrite']) {
      const r = timed([...cli, 'build', '--answers', files[mode], '--force', '--quiet']);
      results[mode].push(r.seconds);
      rss[mode].push(r.rss);
    }
  }
  const b = median(results.xorriso);
  console.log(
    `build bench: Debian fixture bootkit (${(build.tarballBytes / 1e6).toFixed(1)} MB release), OS image ${(statSync(osImage).size / 1e6).toFixed(1)} MB, median of ${rounds}`,
  );
  console.log(`  xorriso alone, same files, + fsync    ${b.toFixed(2)} s   ratio 1.00`);
  for (const mode of ['overlay', 'rewrite']) {
    const m = median(results[mode]);
    console.log(
      `  make-iso build (${mode.padEnd(7)})            ${m.toFixed(2)} s   ratio ${(m / b).toFixed(2)}   peak RSS ${median(rss[mode]).toFixed(0)} MB`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
