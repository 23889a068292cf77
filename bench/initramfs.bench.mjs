// Why: measures the initramfs modes (scan, overlay, rewrite at several gzip settings) against
// plain `cat` and `gunzip | gzip -6` run side by side on the same synthetic bootkit, so the
// "overlay costs about a copy, rewrite costs a recompression" claim is reproducible.
// Needs a build (`npm run build`) and GNU tar, cpio, pigz. Usage:
//   node bench/initramfs.bench.mjs [--from /usr/bin] [--rounds 2] [--dir /tmp]
// The rootfs is a tar of --from (real binaries and libraries compress like a real rootfs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { scanBootkitInitramfs } from '../dist/initramfs/scan.js';
import { writeCustomInitramfs } from '../dist/initramfs/produce.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: '/usr/bin' },
    rounds: { type: 'string', default: '2' },
    dir: { type: 'string', default: '/tmp' },
  },
});
const rounds = Number(values.rounds);
const work = mkdtempSync(join(values.dir, 'make-iso-bench-'));
const bash = (script) =>
  execFileSync('bash', ['-euo', 'pipefail', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
const MB = (n) => `${(n / 1e6).toFixed(1)} MB`;

try {
  // A dracut-like initramfs: rootfs.tar.gz (gzip -6) inside a gzip -9 newc cpio.
  const tree = join(work, 'initrd');
  bash(`mkdir -p ${tree}/etc/cmdline.d ${tree}/usr/lib/dracut/hooks/pre-pivot && ln -s usr/lib ${tree}/lib`);
  bash(
    `tar --sort=name --numeric-owner -C ${JSON.stringify(values.from)} -cf - . 2>/dev/null | pigz -6 > ${tree}/rootfs.tar.gz`,
  );
  bash(`cd ${tree} && find . | LC_ALL=C sort | cpio -o -H newc --quiet | pigz -9 -n > ${work}/initramfs.img`);
  const img = join(work, 'initramfs.img');
  const rootfsSize = statSync(join(tree, 'rootfs.tar.gz')).size;
  console.log(`rootfs.tar.gz ${MB(rootfsSize)}, initramfs ${MB(statSync(img).size)}, from ${values.from}`);

  const change = {
    files: [{ path: '/usr/lib/make-iso/installer.sh', mode: 0o755, content: Buffer.from('#!/bin/bash\n') }],
    mask: ['tink-worker', 'caddy'],
  };
  const cases = [
    ['baseline: cat (copy)', () => bash(`cat ${img} > ${work}/copy.img`)],
    ['baseline: gunzip rootfs | gzip -6', () => bash(`gzip -dc ${tree}/rootfs.tar.gz | gzip -6 > ${work}/re.gz`)],
    ['baseline: gunzip rootfs | pigz -1', () => bash(`gzip -dc ${tree}/rootfs.tar.gz | pigz -1 > ${work}/re.gz`)],
    ['scan', () => scanBootkitInitramfs(img)],
    ['overlay', () => writeCustomInitramfs(img, `${work}/o.img`, change, { mode: 'overlay', mtime: 0 })],
    ...[
      ['pigz', 1],
      ['pigz', 6],
      ['node', 1],
      ['node', 6],
    ].map(([gzip, level]) => [
      `rewrite (${gzip} -${level})`,
      () => writeCustomInitramfs(img, `${work}/r.img`, change, { mode: 'rewrite', mtime: 0, level, gzip }),
    ]),
  ];
  const results = [];
  for (const [name, fn] of cases) {
    let best = Infinity;
    let bytes;
    for (let i = 0; i < rounds; i++) {
      const t = performance.now();
      bytes = (await fn())?.bytes;
      best = Math.min(best, performance.now() - t);
    }
    results.push([name, best, bytes]);
  }
  const cat = results[0][1];
  const gz6 = results[1][1];
  for (const [name, ms, bytes] of results) {
    console.log(
      `${name.padEnd(36)} ${(ms / 1000).toFixed(2).padStart(6)} s   x${(ms / cat).toFixed(1).padStart(5)} cat   x${(ms / gz6).toFixed(2)} gzip-6${bytes ? `   -> ${MB(bytes)}` : ''}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
