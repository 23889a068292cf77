// Why: with LVM asked for, a volume group named lvmvg on another disk made step 8 fail after the
// image was written (issue 16); step 4 now asks disks_vg_elsewhere first. pvs and lsblk are
// replaced by shell functions printing what they would on such a node.
import { describe, expect, it } from 'vitest';
import { bash } from './run-bash.js';

/** disks_vg_elsewhere VG TARGET with `pvs` printing PVS (pv vg lines) and lsblk knowing PARENTS. */
function elsewhere(vg: string, target: string, pvs: string): string[] {
  const r = bash(
    [
      'set -euo pipefail',
      'source lib/disks.sh',
      'pvs() { printf "%b" "$PVS"; }',
      // lsblk -ndo PKNAME -- DEV: the parent disk of a partition (sda4 -> sda, nvme0n1p4 -> nvme0n1)
      'lsblk() { local d=${!#}; d=${d#/dev/}; case $d in nvme*p[0-9]*) echo "${d%p*}" ;; sd*[0-9]) echo "${d%%[0-9]*}" ;; *) echo ;; esac; }',
      'disks_vg_elsewhere "$1" "$2"',
    ].join('\n'),
    [vg, target],
    { PVS: pvs },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('disks_vg_elsewhere (step 4)', () => {
  it('names the physical volumes of lvmvg on other disks, not those on the target nor other groups', () => {
    const pvs = '  /dev/sda4   lvmvg\\n  /dev/nvme0n1p4 lvmvg\\n  /dev/sdb1 data\\n  /dev/sdc   lvmvg\\n  /dev/sdd\\n';
    expect(elsewhere('lvmvg', '/dev/nvme0n1', pvs)).toEqual(['/dev/sda4', '/dev/sdc']);
    expect(elsewhere('lvmvg', '/dev/sda', pvs)).toEqual(['/dev/nvme0n1p4', '/dev/sdc']);
  });

  it('prints nothing when no disk holds the group', () => {
    expect(elsewhere('lvmvg', '/dev/nvme0n1', '  /dev/sdb1 data\\n')).toEqual([]);
  });
});
