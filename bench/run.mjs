// Why: `npm run bench` runs every benchmark in turn; each prints its own ratios against a
// baseline measured side by side in the same run (never absolute targets in unit tests).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const here = import.meta.dirname;
const benches = [
  ['build.bench.mjs', ['--rounds', '3']],
  ['build.bench.mjs', ['--rounds', '3', '--os-image-mib', '1024']],
  ['initramfs.bench.mjs', ['--rounds', '2']],
];
if (process.getuid?.() === 0) benches.push(['usb-write.bench.mjs', ['--size-mib', '512', '--rounds', '3']]);
else console.log('usb-write bench skipped: it needs root (loop devices)');
for (const [file, args] of benches) {
  console.log(`\n== ${file} ${args.join(' ')}`);
  execFileSync(process.execPath, [join(here, file), ...args], { stdio: 'inherit' });
}
