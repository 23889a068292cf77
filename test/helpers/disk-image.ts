// Why: the e2e tests read installed disk images from the host without mounting them (no root
// needed, nothing left mounted): a shell one-liner runner, a file's sha256, a partition copied out
// by its GPT name, and a file read from an ext4 image with debugfs.
import { execFileSync } from 'node:child_process';

/** Runs CMD with bash (arguments as $1, $2, ...); its stdout, or a throw carrying stderr. */
export const sh = (cmd: string, ...args: string[]): string =>
  execFileSync('bash', ['--norc', '-c', cmd, '_', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 2 ** 20,
  });

/** The sha256 of a file (a disk image compared before and after a boot). */
export const fileSha = (file: string): string => sh('sha256sum <"$1"', file).split(' ')[0] ?? '';

/** Copies the partition named NAME out of a disk image file (start/size from its GPT). */
export function extractPartition(disk: string, name: string, out: string): string {
  const line = sh('sfdisk -d "$1"', disk)
    .split('\n')
    .find((l) => l.includes(`name="${name}"`));
  const m = /start=\s*(\d+), size=\s*(\d+)/.exec(line ?? '');
  if (!m) throw new Error(`no partition named ${name} on ${disk}`);
  sh('dd if="$1" of="$2" bs=512 skip="$3" count="$4" conv=sparse status=none', disk, out, m[1]!, m[2]!);
  return out;
}

/** A file of an ext2/3/4 file system image, read with debugfs ('' when it is missing). */
export const debugfsCat = (fs: string, path: string): string => sh('debugfs -R "cat $2" "$1" 2>/dev/null', fs, path);

/** "5 write the OS image 12 s, ..." from the installer log's time-stamped step lines (to SUCCESS). */
export function stepDurations(log: string): string {
  const steps = [...log.matchAll(/^(\S+ \S+) MAKE-ISO-INSTALLER: (?:step (\d+)\/\d+: (.*)|SUCCESS)/gm)].map((m) => ({
    at: Date.parse(`${m[1]}Z`),
    name: m[2] ? `${m[2]} ${m[3]}` : 'end',
  }));
  return steps
    .slice(0, -1)
    .map((s, i) => `${s.name} ${Math.round(((steps[i + 1]?.at ?? s.at) - s.at) / 1000)} s`)
    .join(', ');
}

/** The installer's log as it copied it into the installed disk's rootfs (step 10). */
export function installedLog(disk: string, scratch: string): string {
  return debugfsCat(extractPartition(disk, 'rootfs', scratch), '/var/log/make-iso-installer.log');
}
