// Why: small gzip'ed GPT disk images (esp, rootfs, optional edge_persistent) with a chosen rootfs
// tree, made without root (mkfs.ext4 -d, sgdisk, dd), for the OS image probe's tests.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface GptImageSpec {
  /** Files of the rootfs tree: path (no leading /) -> content. */
  files?: Record<string, string>;
  /** Symlinks of the rootfs tree: path -> target. */
  symlinks?: Record<string, string>;
  /** edge_persistent: after rootfs (last, default), before it, or none. */
  persistent?: 'last' | 'before-rootfs' | 'none';
  /** GPT name of the root partition (default rootfs). */
  rootfsName?: string;
  /** Size of the rootfs partition in MiB (default 8). */
  rootfsMiB?: number;
  /** ext4 features to set on the rootfs after mkfs (`debugfs -w -R "feature X"`), e.g. compression. */
  rootfsFeatures?: string[];
}

const sh = (script: string, ...args: string[]): string =>
  execFileSync('bash', ['--norc', '-c', `set -euo pipefail\n${script}`, '_', ...args], { encoding: 'utf8' });

/** Writes `<dir>/<name>` (a .raw.gz) and returns its path. */
export function makeGptImage(dir: string, name: string, spec: GptImageSpec = {}): string {
  const work = mkdtempSync(join(tmpdir(), 'make-iso-gpt-'));
  try {
    const tree = join(work, 'tree');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    for (const [path, content] of Object.entries(spec.files ?? {})) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), content);
    }
    for (const [path, target] of Object.entries(spec.symlinks ?? {})) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      symlinkSync(target, join(tree, path));
    }
    const rootMiB = spec.rootfsMiB ?? 8;
    const pers = spec.persistent ?? 'last';
    const rootfs = spec.rootfsName ?? 'rootfs';
    // partitions in disk order: [name, MiB, sgdisk type]
    const parts: Array<[string, number, string]> = [['esp', 2, 'EF00']];
    if (pers === 'before-rootfs') parts.push(['edge_persistent', 2, '8300']);
    parts.push([rootfs, rootMiB, '8300']);
    if (pers === 'last') parts.push(['edge_persistent', 2, '8300']);
    const totalMiB = 2 + parts.reduce((n, p) => n + p[1], 0);
    const img = join(work, 'disk.raw');
    sh('truncate -s "$2M" "$1"', img, String(totalMiB));
    const args = parts.flatMap(([n, mib, type], i) => [
      `-n`,
      `${i + 1}:0:+${mib}M`,
      `-t`,
      `${i + 1}:${type}`,
      `-c`,
      `${i + 1}:${n}`,
    ]);
    execFileSync('sgdisk', [...args, img], { stdio: 'ignore' });
    const rootIndex = parts.findIndex((p) => p[0] === rootfs);
    const startMiB = 1 + parts.slice(0, rootIndex).reduce((n, p) => n + p[1], 0);
    sh('mkfs.ext4 -q -F -d "$2" "$1" "$3M"', join(work, 'root.img'), tree, String(rootMiB));
    for (const f of spec.rootfsFeatures ?? [])
      sh('debugfs -w -R "feature $2" "$1" >/dev/null', join(work, 'root.img'), f);
    sh('dd if="$1" of="$2" bs=1M seek="$3" conv=notrunc status=none', join(work, 'root.img'), img, String(startMiB));
    const out = join(dir, name);
    sh('gzip -n -c <"$1" >"$2"', img, out);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A rootfs like EMT's: cloud-init, chrony, sudo and sshd, /sbin a symlink to usr/sbin. */
export const FULL_ROOTFS: GptImageSpec = {
  files: {
    'etc/cloud/cloud.cfg': 'users: [default]\n',
    'usr/sbin/chronyd': 'x',
    'usr/bin/sudo': 'x',
    'usr/sbin/sshd': 'x',
    'usr/bin/containerd': 'x',
  },
  symlinks: { sbin: 'usr/sbin', bin: 'usr/bin' },
};
