// Why: step 3 must refuse, before writing, an OS image whose ext4 file systems this kernel cannot
// mount (issue 16): image_check_filesystems reads each partition's superblock from the gzip stream
// and names its incompat/ro_compat features; unknown or never-supported ones fail at once. Here on
// small generated GPT images (mkfs.ext4 and debugfs on plain files, no root, no mount: the seam
// MI_TEST_NO_KERNEL_CHECK skips the test mount, which the e2e test exercises in QEMU).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bash, tempDir } from './run-bash.js';

const tmp = tempDir('make-iso-image-fs-');
afterAll(() => tmp.cleanup());

/** A 40 MiB GPT image (esp: vfat-less blank, rootfs: ext4, data: ext4), gzip'ed; SETUP runs on rootfs.img first. */
function image(name: string, setup = ''): string {
  const r = bash(
    [
      'set -euo pipefail',
      'd=$1; cd "$d"',
      'truncate -s 40M "$2.raw"',
      'printf "label: gpt\\nsize=4MiB, type=U, name=esp\\nsize=16MiB, type=L, name=rootfs\\nsize=16MiB, type=L, name=data\\n" | sfdisk -q "$2.raw"',
      'mkfs.ext4 -q -F -L rootfs rootfs.img 16M && mkfs.ext4 -q -F -O ^metadata_csum data.img 16M',
      setup,
      'dd if=rootfs.img of="$2.raw" bs=1M seek=5 conv=notrunc status=none',
      'dd if=data.img of="$2.raw" bs=1M seek=21 conv=notrunc status=none',
      'gzip -1 -n -f "$2.raw" && rm -f rootfs.img data.img',
    ].join('\n'),
    [tmp.dir, name],
  );
  if (r.status !== 0) throw new Error(`making ${name}: ${r.stderr}`);
  return `${tmp.dir}/${name}.raw.gz`;
}

/** Runs image_measure + image_check_filesystems on IMAGE; returns status, log and the die reason. */
function check(img: string): { status: number; log: string; reason: string } {
  const run = `${tmp.dir}/run-${Math.random().toString(36).slice(2)}`;
  const r = bash(
    [
      'set -Eeuo pipefail',
      'source lib/log.sh; source lib/requirements.sh; source lib/image.sh',
      'MI_LOG_FILE=$2/log MI_FAIL_FILE=$2/fail IMAGE_PATH=$1',
      'mkdir -p "$2"; : >"$2/log"; LOG_READY=1',
      'image_measure "$2"',
      'image_check_filesystems "$2"',
    ].join('\n'),
    [img, run],
    { MI_TEST_NO_KERNEL_CHECK: '1' },
  );
  const read = (f: string) => bash('cat "$1" 2>/dev/null || true', [`${run}/${f}`]).stdout;
  return { status: r.status, log: read('log'), reason: read('fail').trim() };
}

describe('image_check_filesystems (step 3)', () => {
  let plain = '';
  beforeAll(() => {
    plain = image('plain');
  });

  it('reads the features of every ext4 partition and accepts an ordinary image', () => {
    const r = check(plain);
    expect(r.status, r.reason).toBe(0);
    expect(r.log).toMatch(/image: rootfs is ext2\/3\/4 with features .*extent.*metadata_csum/);
    expect(r.log).toMatch(/image: data is ext2\/3\/4 with features /);
    expect(r.log).not.toMatch(/image: data .*metadata_csum/);
    expect(r.log).not.toMatch(/image: esp is/);
  });

  it('refuses a rootfs with a feature Linux never mounts (compression), naming it, before writing', () => {
    const r = check(image('compression', 'debugfs -w -R "feature compression" rootfs.img >/dev/null 2>&1'));
    expect(r.status).toBe(1);
    expect(r.reason).toBe(
      "the OS image's rootfs file system uses ext4 features Linux cannot mount read-write (compression); nothing was written; rebuild the image without them",
    );
  });

  it('refuses an incompat bit it does not know, as ?0xBIT', () => {
    // set incompat bit 0x80000 in the rootfs superblock (offset 1024 + 0x60 + 2): no checksum
    // seam needed, the check reads raw bits
    const r = check(
      image(
        'unknown',
        'mkfs.ext4 -q -F -O ^metadata_csum -L rootfs rootfs.img 16M && printf "\\x08" | dd of=rootfs.img bs=1 seek=1122 conv=notrunc status=none',
      ),
    );
    expect(r.status).toBe(1);
    expect(r.reason).toMatch(/rootfs file system uses ext4 features Linux cannot mount read-write \(\?0x80000\)/);
  });
});
