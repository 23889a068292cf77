// Why: global setup of the integration project: its tests run the built CLI (dist/), so it
// builds first; and a run without root says plainly which tests it skips and why.
import { execFileSync } from 'node:child_process';
import { projectRoot } from '../../src/version.js';

/** Integration test files that need root (loop devices, mount, useradd --root). */
export const NEEDS_ROOT = [
  'test/integration/installer/install-loop.test.ts (installs onto a loop device)',
  'test/integration/usb/usb-write.test.ts (writes loop devices)',
  'test/integration/build/publish-fat.test.ts (mounts a FAT filesystem through FUSE)',
];

export default function setup(): void {
  process.stderr.write('integration: building dist/ (npm run build)\n');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: projectRoot, stdio: 'inherit' });
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      `integration: not root, so these are SKIPPED (loop devices and mounts need root):\n  ${NEEDS_ROOT.join('\n  ')}\n`,
    );
  }
}
