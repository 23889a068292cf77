// Why: `npm run bench` runs every benchmark in turn; each prints its own ratios against a
// baseline measured side by side in the same run (never absolute targets in unit tests).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const here = import.meta.dirname;
const benches = [
  // issue 14's targets: floor, cold, warm, N per-node ISOs (N=1/10/50), peak RSS at 1x and 3x;
  // the 4 GiB image: node bench/build.bench.mjs --os 4g --nodes '' (about 1 GB of gzip)
  ['build.bench.mjs', ['--rounds', '5', '--nodes', '1,10,50', '--nodes-rounds', '1']],
  ['build.bench.mjs', ['--rounds', '5', '--bootkit', 'x3', '--nodes', '']],
  ['initramfs.bench.mjs', ['--rounds', '2']],
];
if (process.getuid?.() === 0) benches.push(['usb-write.bench.mjs', ['--size-mib', '512', '--rounds', '3']]);
else console.log('usb-write bench skipped: it needs root (loop devices)');
for (const [file, args] of benches) {
  console.log(`\n== ${file} ${args.join(' ')}`);
  execFileSync(process.execPath, [join(here, file), ...args], { stdio: 'inherit' });
}
