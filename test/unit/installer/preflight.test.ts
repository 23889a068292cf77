// Why: step 1 must find everything the install will need before anything is written: tools,
// kernel modules and filesystems, and a test mount of an ext4 with the OS image's features and
// of a vfat. modprobe, mkfs and mount are stubs on PATH here (no root, no kernel changes).
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bash, tempDir } from './run-bash.js';

let tmp: ReturnType<typeof tempDir>;
let stubs: string;
beforeAll(() => {
  tmp = tempDir();
  stubs = join(tmp.dir, 'bin');
  mkdirSync(stubs);
  const stub = (name: string, body: string) => {
    tmp.file(`bin/${name}`, `#!/usr/bin/env bash\necho "${name} $*" >>"$CALLS"\n${body}\n`);
    chmodSync(join(stubs, name), 0o755);
  };
  // modprobe NAME succeeds for the names in $MODS (space-separated)
  stub('modprobe', 'for a; do [[ " $MODS " == *" $a "* ]] && exit 0; done; exit 1');
  stub('mkfs.ext4', ': >"${@: -1}"');
  stub('mkfs.vfat', ': >"${@: -1}"');
  // mount -t TYPE ...: fails for the types in $BROKEN with the kernel's words
  stub('mount', '[[ " $BROKEN " == *" $2 "* ]] && { echo "mount: wrong fs type, bad superblock"; exit 32; }; exit 0');
  stub('umount', 'exit 0');
});
afterAll(() => tmp.cleanup());

const ALL_MODULES = 'crc32c loop nvme ahci usb_storage xhci_pci sr_mod virtio_blk virtio_scsi';

function preflight(env: Record<string, string> = {}) {
  const name = `run-${Math.random().toString(36).slice(2)}`;
  const run = join(tmp.dir, name);
  mkdirSync(run);
  const calls = join(run, 'calls');
  const procFs = tmp.file(`${name}.filesystems`, 'nodev\tsysfs\n\text4\n\tvfat\n\tiso9660\n');
  const r = bash(
    `set -euo pipefail; source lib/log.sh; source lib/requirements.sh; PATH="$STUBS:$PATH"; req_preflight "$RUN"; echo PASSED`,
    [],
    {
      STUBS: stubs,
      RUN: run,
      CALLS: calls,
      MODS: ALL_MODULES,
      BROKEN: '',
      MI_PROC_FILESYSTEMS: procFs,
      MI_SYS_FIRMWARE_EFI: join(tmp.dir, 'no-efi'),
      MI_LVM_SIZE_GIB: '0',
      MI_FAIL_FILE: join(run, 'fail-reason'),
      ...env,
    },
  );
  const log = existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean) : [];
  const fail = join(run, 'fail-reason');
  const reason = existsSync(fail) ? readFileSync(fail, 'utf8').trim() : '';
  return { ...r, calls: log, reason, leftovers: readdirSync(run).filter((f) => f !== 'calls' && f !== 'fail-reason') };
}

describe('the step-1 preflight (lib/requirements.sh)', () => {
  it('passes when everything is there, after test-mounting an ext4 with metadata_csum and a vfat', () => {
    const r = preflight();
    expect(r.stdout).toContain('PASSED');
    expect(r.status).toBe(0);
    const mkfs = r.calls.find((c) => c.startsWith('mkfs.ext4 '))!;
    expect(mkfs).toMatch(/-O \S*metadata_csum/);
    expect(r.calls.filter((c) => c.startsWith('mount '))).toEqual([
      expect.stringMatching(/^mount -t ext4 -o loop -- .*\/ext4\.img /),
      expect.stringMatching(/^mount -t vfat -o loop -- .*\/vfat\.img /),
    ]);
    expect(r.calls).toContain('modprobe -n -q -- crc32c');
    expect(r.leftovers).toEqual([]); // the loop files are gone
  });

  it('names every missing module and tool with its packages in one failure, before any test mount', () => {
    const r = preflight({
      MODS: 'loop nvme ahci usb_storage xhci_pci sr_mod virtio_blk',
      MI_LVM_SIZE_GIB: '5',
      PATH_EXTRA: '',
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      'make-iso-installer: missing on this system: module crc32c (kernel / linux-image-amd64)',
    );
    expect(r.stdout).toContain(
      'make-iso-installer: missing on this system: module virtio_scsi (kernel / linux-image-amd64)',
    );
    // crc32c: every alternative was tried
    expect(r.calls).toEqual(
      expect.arrayContaining(['modprobe -n -q -- crc32c_generic', 'modprobe -n -q -- crc32c_intel']),
    );
    expect(r.calls.some((c) => c.startsWith('mkfs.') || c.startsWith('mount '))).toBe(false);
    expect(r.reason).toBe(
      'the live system lacks what the install needs: module crc32c (kernel / linux-image-amd64); module virtio_scsi (kernel / linux-image-amd64)',
    );
  });

  it('a filesystem the kernel lacks is loaded with modprobe, and reported when it stays missing', () => {
    const procFs = tmp.file('nofs.filesystems', 'nodev\tsysfs\n\text4\n\tvfat\n');
    const r = preflight({ MI_PROC_FILESYSTEMS: procFs });
    expect(r.status).toBe(1);
    expect(r.calls).toContain('modprobe -q -- isofs');
    expect(r.stdout).toContain('missing on this system: filesystem iso9660 (kernel / linux-image-amd64)');
  });

  it('an ext4 that does not mount (no crc32c for metadata_csum) fails step 1 with the reason', () => {
    const r = preflight({ BROKEN: 'ext4' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /missing on this system: a test ext4 with \S*metadata_csum\S* does not mount \(mount failed: mount: wrong fs type, bad superblock; the kernel needs ext4 and crc32c\)/,
    );
    expect(r.leftovers).toEqual([]);
  });

  it('asks for LVM tools only with an LVM size, and efibootmgr and efivarfs only under UEFI', () => {
    const efi = join(tmp.dir, 'efi');
    mkdirSync(efi, { recursive: true });
    const noTools = tmp.file(
      'tools.tsv',
      'kind\tname\twhen\tmodules\trpm\tdeb\tused\n' +
        'tool\tno-such-lvm-tool\tlvm\t-\tlvm2\tlvm2\tx\n' +
        'tool\tno-such-efi-tool\tuefi\t-\tefibootmgr\tefibootmgr\tx\n' +
        'tool\tno-such-optional-tool\toptional\t-\tx\tx\tx\n',
    );
    expect(preflight({ MI_REQUIREMENTS_FILE: noTools }).status).toBe(0);
    const lvm = preflight({ MI_REQUIREMENTS_FILE: noTools, MI_LVM_SIZE_GIB: '2' });
    expect(lvm.reason).toBe('the live system lacks what the install needs: no-such-lvm-tool (lvm2)');
    const uefi = preflight({ MI_REQUIREMENTS_FILE: noTools, MI_SYS_FIRMWARE_EFI: efi });
    expect(uefi.stdout).toContain('missing on this system: no-such-efi-tool (efibootmgr)');
    expect(uefi.stdout).not.toContain('no-such-optional-tool');
  });
});
