// Why: step 3 must refuse, before writing, an OS image whose ext4 file systems this kernel cannot
// mount (issue 16): image_check_filesystems names each ext4 partition's incompat/ro_compat features
// (from the build's probe in install.env, else from the superblocks in the gzip stream); unknown or
// never-supported ones fail at once. Both sources must give the same lines (issue 14). Here on
// small generated GPT images (mkfs.ext4 and debugfs on plain files, no root, no mount: the seam
// MI_TEST_NO_KERNEL_CHECK skips the test mount, which the e2e test exercises in QEMU).
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnswers } from '../../../src/answers/load.js';
import { probeOsImage } from '../../../src/io/image-probe.js';
import { installEnvEntries } from '../../../src/render/installer-config.js';
import { HASH } from '../answers/helpers.js';
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

/** The build's whole-image facts as install.env would carry them. */
interface Probed {
  bytes: string;
  sha256: string;
  ext4: string[];
}

/**
 * Runs LINES in bash after sourcing the image library for IMG ($1), logging into a fresh run
 * directory ($2; ARGS follow as $3...); returns the status, the log, the die reason and a reader
 * of the run directory's files.
 */
function imageLib(img: string, lines: string[], env: Record<string, string> = {}, args: string[] = []) {
  const run = `${tmp.dir}/run-${Math.random().toString(36).slice(2)}`;
  const r = bash(
    [
      'set -Eeuo pipefail',
      'source lib/log.sh; source lib/requirements.sh; source lib/image.sh',
      'MI_LOG_FILE=$2/log MI_FAIL_FILE=$2/fail IMAGE_PATH=$1',
      'mkdir -p "$2"; : >"$2/log"; LOG_READY=1',
      ...lines,
    ].join('\n'),
    [img, run, ...args],
    env,
  );
  const read = (f: string) => bash('cat "$1" 2>/dev/null || true', [`${run}/${f}`]).stdout;
  return { status: r.status, log: read('log'), reason: read('fail').trim(), run, read };
}

/** Runs image_measure + image_check_filesystems on IMAGE (with PROBED: as install.env gives them); returns status, log, the die reason and the measured size and sha256. */
function check(img: string, probed?: Probed): { status: number; log: string; reason: string; measured: string } {
  const r = imageLib(
    img,
    [
      'MI_IMAGE_EXT4=(); [[ -z ${EXT4:-} ]] || mapfile -t MI_IMAGE_EXT4 <<<"$EXT4"',
      'image_measure "$2"',
      'image_check_filesystems "$2"',
      'printf "%s %s\\n" "$IMAGE_RAW_BYTES" "$IMAGE_RAW_SHA256" >"$2/measured"',
    ],
    {
      MI_TEST_NO_KERNEL_CHECK: '1',
      ...(probed
        ? { MI_IMAGE_RAW_BYTES: probed.bytes, MI_IMAGE_RAW_SHA256: probed.sha256, EXT4: probed.ext4.join('\n') }
        : {}),
    },
  );
  return { status: r.status, log: r.log, reason: r.reason, measured: r.read('measured').trim() };
}

/** The install.env values of the build's probe of IMG (rendered as the build renders them). */
async function probed(img: string): Promise<Probed> {
  const image = await probeOsImage(img);
  const parsed = await parseAnswers(
    `bootkit: { archive: b.tar.gz }\nosImage: { path: o.raw.gz }\nuser: { name: edge, passwordHash: '${HASH}' }\n`,
    '/tmp',
    { checkFiles: false },
  );
  if (!parsed.answers) throw new Error(parsed.errors.join('; '));
  const env = new Map(
    installEnvEntries(parsed.answers, { osImageName: 'x.raw.gz', osImageSha256: '', version: '0', image }),
  );
  return {
    bytes: env.get('MI_IMAGE_RAW_BYTES') as string,
    sha256: env.get('MI_IMAGE_RAW_SHA256') as string,
    ext4: env.get('MI_IMAGE_EXT4') as string[],
  };
}

const featureLines = (log: string) =>
  log
    .split('\n')
    .filter((l) => / is ext2\/3\/4 with features /.test(l))
    .map((l) => l.replace(/^.*?image: /, ''));

describe('image_check_filesystems (step 3)', () => {
  let plain = '';
  beforeAll(() => {
    plain = image('plain');
  });

  it('reads the features of every ext4 partition and accepts an ordinary image', () => {
    const r = check(plain);
    expect(r.status, r.reason).toBe(0);
    expect(r.log).toMatch(/image: rootfs \(at byte 5242880\) is ext2\/3\/4 with features .*extent.*metadata_csum/);
    expect(r.log).toMatch(/image: data \(at byte 22020096\) is ext2\/3\/4 with features /);
    expect(r.log).not.toMatch(/image: data .*metadata_csum/);
    expect(r.log).not.toMatch(/image: esp /);
  });

  it("with the build's facts: the same size, sha256 and feature lines as the stream gives, and the image is not read", async () => {
    const stream = check(plain);
    const facts = await probed(plain);
    const r = check(`${tmp.dir}/no-such-image.raw.gz`, facts);
    expect(r.status, r.reason).toBe(0);
    expect(r.log).toMatch(/image: raw size \d+ bytes, sha256 [0-9a-f]{64} \(the build's probe; not inflated here\)/);
    expect(r.measured).toBe(stream.measured);
    expect(featureLines(r.log)).toEqual(featureLines(stream.log));
    expect(featureLines(r.log)).toHaveLength(2);
  });

  it("with the build's facts: a feature Linux never mounts is refused the same way, before writing", async () => {
    const facts = await probed(plain);
    // the rootfs line with incompat bit 0 (compression) added
    const ext4 = facts.ext4.map((l) =>
      l.replace(/^(\d+) (\d+)/, (_, at: string, inc: string) => `${at} ${Number(inc) | 1}`),
    );
    const r = check(`${tmp.dir}/no-such-image.raw.gz`, { ...facts, ext4 });
    expect(r.status).toBe(1);
    expect(r.reason).toBe(
      "the OS image's rootfs file system uses ext4 features Linux cannot mount read-write (compression); nothing was written; rebuild the image without them",
    );
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

/** Runs image_measure then image_write onto the regular file TARGET (guard_write stubbed: no loop device here), with IMAGE_RAW_BYTES replaced by WRONG when given. */
function write(img: string, target: string, wrong?: string) {
  return imageLib(
    img,
    [
      'guard_write() { :; }',
      'image_measure "$2"',
      '[[ -z ${WRONG:-} ]] || IMAGE_RAW_BYTES=$WRONG',
      'image_write "$3" "$2"',
    ],
    wrong ? { WRONG: wrong } : {},
    [target],
  );
}

describe('image_write (step 5): the one inflate of the install', () => {
  let plain = '';
  beforeAll(() => {
    plain = image('write');
  });
  const sha = (f: string) => bash('sha256sum <"$1"', [f]).stdout.split(' ')[0];
  const raw = () => bash('gzip -dc "$1" | sha256sum', [plain]).stdout.split(' ')[0];

  it('writes the image, first MiB last, after checking the bytes written against the raw size', () => {
    const target = `${tmp.dir}/disk-ok.img`;
    bash('truncate -s 40M "$1"', [target]);
    const r = write(plain, target);
    expect(r.status, r.reason).toBe(0);
    expect(sha(target)).toBe(raw());
    expect(r.log).toMatch(/write: 41943040 bytes written, the image's raw size/);
    // dd's progress reached the log, and its final statistics were read after it ended
    expect(r.log).toMatch(/dd: .*records out 40894464 bytes \(41 MB, 39 MiB\) copied/);
    expect(existsSync(`${r.run}/write.stats`)).toBe(true);
  });

  it('a stream of another size stops before the partition table is written', () => {
    const target = `${tmp.dir}/disk-bad.img`;
    bash('truncate -s 40M "$1"', [target]);
    const r = write(plain, target, String(41943040 + 512));
    expect(r.status).toBe(1);
    expect(r.reason).toBe(
      `the OS image inflated to 41943040 bytes while writing, not 41943552; ${target} was erased and has no partition table; rewrite the install media`,
    );
    // the first MiB (MBR and GPT) was never written: the disk does not look partitioned
    expect(bash('head -c 1048576 "$1" | tr -d "\\0" | wc -c', [target]).stdout.trim()).toBe('0');
    expect(bash('tail -c +1048577 "$1" | sha256sum', [target]).stdout).toBe(
      bash('gzip -dc "$1" | tail -c +1048577 | sha256sum', [plain]).stdout,
    );
  });
});
