// Why: the generated bad-input corpus: each case is a small input made on the spot, the command to
// run on it, and the exit code and message the user must see. corpus.test.ts runs them all.
import { execa } from 'execa';
import { chmod, mkdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { FULL_ROOTFS, makeGptImage } from '../helpers/gpt-image.js';

export interface Case {
  kind: string;
  name: string;
  /** Builds the case's inputs in dir (which already holds the good inputs); returns the CLI args. */
  setup: (dir: string, good: GoodInputs) => Promise<string[]>;
  exit: number;
  message: RegExp;
  env?: Record<string, string>;
}

export interface GoodInputs {
  release: string;
  osImage: string;
}

/** A kernel make-iso accepts: the bzImage boot header "HdrS" at 0x202. */
export function fakeKernel(): Buffer {
  const k = Buffer.alloc(4096);
  k.write('HdrS', 0x202, 'latin1');
  return k;
}

/**
 * A good OS image: a gzip'ed GPT disk whose rootfs has what the answers can ask for (the build
 * probes it), made once (mkfs.ext4 -d and sgdisk, no root) and reused by every case.
 */
let goodImage: Buffer | undefined;
export function fakeOsImage(): Buffer {
  if (!goodImage) {
    const dir = mkdtempSync(join(tmpdir(), 'make-iso-corpus-image-'));
    try {
      goodImage = readFileSync(makeGptImage(dir, 'os.raw.gz', FULL_ROOTFS));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return goodImage;
}

async function sh(script: string, cwd: string): Promise<void> {
  await execa('bash', ['-euo', 'pipefail', '-c', script], { cwd });
}

/** Makes a release tar.gz in dir from named members (Buffer content, or a symlink target string). */
export async function release(
  dir: string,
  name: string,
  members: Record<string, Buffer | { link: string }>,
): Promise<string> {
  const src = join(dir, `${name}.src`);
  await mkdir(src, { recursive: true });
  for (const [m, content] of Object.entries(members)) {
    if (Buffer.isBuffer(content)) await writeFile(join(src, m), content);
    else await symlink(content.link, join(src, m));
  }
  const archive = join(dir, `${name}.tar.gz`);
  await execa('tar', ['-czf', archive, '-C', src, ...Object.keys(members)]);
  return archive;
}

/** The valid answers every answers case starts from. */
export function baseAnswers(good: GoodInputs): Record<string, unknown> {
  return {
    bootkit: { archive: good.release },
    osImage: { path: good.osImage },
    output: { path: 'out.iso', sourceDateEpoch: 1700000000 },
    user: {
      name: 'edge',
      sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnZ8k0Z1Rk0l9d1qB3r2ywJc2lq1C2Sx4B9rGdNYh7E test'],
    },
  };
}

type Patch = (a: Record<string, unknown>) => void;

/** `validate` of the base answers changed by patch. */
function answers(kind: string, name: string, patch: Patch, message: RegExp): Case {
  return {
    kind,
    name,
    exit: 2,
    message,
    setup: async (dir, good) => {
      const a = baseAnswers(good);
      patch(a);
      await writeFile(join(dir, 'a.yaml'), stringify(a), { mode: 0o600 });
      return ['validate', '--answers', 'a.yaml'];
    },
  };
}

/** `validate` of a raw answers file. */
function rawAnswers(kind: string, name: string, text: string | Buffer, message: RegExp): Case {
  return {
    kind,
    name,
    exit: 2,
    message,
    setup: async (dir) => {
      await writeFile(join(dir, 'a.yaml'), text, { mode: 0o600 });
      return ['validate', '--answers', 'a.yaml'];
    },
  };
}

/** A build from the base answers with the given flags, after making the case's inputs. */
function build(
  kind: string,
  name: string,
  make: (dir: string, good: GoodInputs) => Promise<string[]>,
  exit: number,
  message: RegExp,
  env?: Record<string, string>,
): Case {
  return {
    kind,
    name,
    exit,
    message,
    ...(env ? { env } : {}),
    setup: async (dir, good) => {
      await writeFile(join(dir, 'a.yaml'), stringify(baseAnswers(good)), { mode: 0o600 });
      return ['--answers', 'a.yaml', '-q', ...(await make(dir, good))];
    },
  };
}

const osImageFile =
  (content: (dir: string) => Promise<Buffer> | Buffer, file = 'bad.raw.gz') =>
  async (dir: string) => {
    await writeFile(join(dir, file), await content(dir));
    return ['--os-image', file];
  };

const bootkitRelease = (members: Record<string, Buffer | { link: string }>) => async (dir: string) => [
  '--bootkit',
  await release(dir, 'bad', members),
];

/** A release whose initramfs is made by a shell script in dir (writing initramfs-1.img). */
const initramfsRelease = (script: string) => async (dir: string) => {
  await sh(script, dir);
  const { readFile } = await import('node:fs/promises');
  return [
    '--bootkit',
    await release(dir, 'bad', {
      'vmlinuz-1': fakeKernel(),
      'initramfs-1.img': await readFile(join(dir, 'initramfs-1.img')),
    }),
  ];
};

const set =
  (path: string, value: unknown): Patch =>
  (a) => {
    const keys = path.split('.');
    let o = a as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[keys.at(-1)!] = value;
  };

const HOSTILE = ['$(reboot)', '`id`', 'a;b', 'x\ny', '../../etc', "it's", 'a b'];
const BAD = /problem/;

export const CASES: Case[] = [
  // --- answers: schema and rule violations ---
  answers('answers', 'unknown key', set('colour', 'blue'), /colour/),
  answers('answers', 'typo key with a suggestion', set('hostnmae', 'x'), /hostname/),
  answers('answers', 'hostname is a number', set('hostname', 42), /hostname/),
  answers('answers', 'hostname with underscores and dots at the end', set('hostname', 'bad_name.'), /hostname/),
  answers('answers', 'reserved user name root', set('user.name', 'root'), /user\.name/),
  answers('answers', 'reserved user name daemon', set('user.name', 'daemon'), /user\.name/),
  answers('answers', 'user name with capitals', set('user.name', 'Edge'), /user\.name/),
  answers(
    'answers',
    'md5 crypt hash ($1$)',
    set('user.passwordHash', '$1$salt$qJH7.N4xYta3aEG/dfqo/0'),
    /passwordHash/,
  ),
  answers(
    'answers',
    'yescrypt hash ($y$)',
    set('user.passwordHash', '$y$j9T$abc$defghijklmnopqrstuvwxyz0123456789ABCDEFGH'),
    /passwordHash/,
  ),
  answers('answers', 'plain password key', set('password', 'secret'), /password/),
  answers('answers', 'ssh key garbage', set('user.sshKeys', ['not a key']), /sshKeys/),
  answers('answers', 'kernel arg with a newline', set('kernelArgs', ['quiet\nrescue']), /kernelArgs/),
  answers('answers', 'kernel arg with GRUB syntax', set('kernelArgs', ['a;b', '${x}']), /kernelArgs/),
  answers('answers', 'console port not a tty', set('console', { port: '/dev/sda', speed: 115200 }), /console/),
  answers('answers', 'console speed not allowed', set('console.speed', 1234), /console/),
  answers('answers', 'proxy with $(...)', set('proxy.http', 'http://proxy:3128/$(reboot)'), /proxy\.http/),
  answers('answers', 'proxy with backticks', set('proxy.https', 'http://`id`@proxy:3128'), /proxy\.https/),
  answers('answers', 'proxy not a URL', set('proxy.http', 'proxy:3128'), /proxy\.http/),
  answers('answers', 'noProxy with ;', set('proxy.noProxy', 'a;reboot'), /noProxy/),
  answers('answers', 'sourceDateEpoch at 2^32', set('output.sourceDateEpoch', 2 ** 32), /sourceDateEpoch/),
  answers('answers', 'negative sourceDateEpoch', set('output.sourceDateEpoch', -1), /sourceDateEpoch/),
  answers('answers', 'static network without address', set('network', { mode: 'static' }), /network/),
  answers(
    'answers',
    'static network with a bad address',
    set('network', { mode: 'static', address: '10.0.0.300', prefix: 24, gateway: '10.0.0.1' }),
    /network\.address/,
  ),
  answers(
    'answers',
    'prefix 33',
    set('network', { mode: 'static', address: '10.0.0.3', prefix: 33, gateway: '10.0.0.1' }),
    /network\.prefix/,
  ),
  answers('answers', 'dns not an IP', set('network.dns', ['$(reboot)']), /network\.dns/),
  answers('answers', 'ntp server hostile', set('ntp.servers', ['a b']), /ntp/),
  answers('answers', 'negative LVM size', set('lvm.sizeGiB', -5), /lvm/),
  answers('answers', 'hugepages as text', set('hugepages', 'many'), /hugepages/),
  answers('answers', 'unknown host type', set('hostType', 'vm'), /hostType/),
  answers('answers', 'unknown disk transport', set('disk.transport', ['floppy']), /disk\.transport/),
  answers('answers', 'tmpfs size garbage', set('tmpfsSize', 'lots'), /tmpfsSize/),
  answers(
    'answers',
    'relative writeFiles path',
    set('cloudInit.writeFiles', [{ path: 'etc/motd', content: 'x' }]),
    /writeFiles/,
  ),
  answers('answers', 'unit name hostile', set('cloudInit.services.enable', ['$(reboot).service']), /services/),
  answers('answers', 'bootkit sha256 not hex', set('bootkit.sha256', 'xyz'), /sha256/),
  answers('answers', 'bootkit archive missing', set('bootkit.archive', '/nonexistent/bk.tar.gz'), /bootkit/),
  answers('answers', 'OS image missing', set('osImage.path', '/nonexistent/os.raw.gz'), /osImage/),
  answers('answers', 'userAppsDir missing', set('userAppsDir', '/nonexistent/apps'), /userAppsDir/),
  ...HOSTILE.map((h) => answers('answers', `hostile hostname ${JSON.stringify(h)}`, set('hostname', h), /hostname/)),
  ...HOSTILE.map((h) =>
    answers('answers', `hostile user name ${JSON.stringify(h)}`, set('user.name', h), /user\.name/),
  ),
  {
    kind: 'answers',
    name: 'empty userAppsDir',
    exit: 2,
    message: /userAppsDir/,
    setup: async (dir, good) => {
      await mkdir(join(dir, 'apps'));
      await writeFile(join(dir, 'a.yaml'), stringify({ ...baseAnswers(good), userAppsDir: join(dir, 'apps') }));
      return ['validate', '--answers', 'a.yaml'];
    },
  },
  // --- answers: files that are not answers files ---
  rawAnswers('answers-file', 'empty file', '', BAD),
  rawAnswers(
    'answers-file',
    'binary garbage',
    Buffer.from([0, 1, 2, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0, 0x9c]),
    BAD,
  ),
  rawAnswers('answers-file', 'YAML syntax error', 'bootkit: [\n', /syntax/),
  rawAnswers('answers-file', 'JSON syntax error', '{"bootkit": ', /syntax/),
  rawAnswers('answers-file', 'duplicate key', 'hostname: a\nhostname: b\n', /syntax|unique|duplicate/i),
  rawAnswers(
    'answers-file',
    'alias bomb',
    `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [${'*a,'.repeat(9)}]\nc: &c [${'*b,'.repeat(9)}]\nd: [${'*c,'.repeat(60)}]\n`,
    /alias/i,
  ),
  rawAnswers('answers-file', 'deep nesting (flow)', `a: ${'['.repeat(40)}${']'.repeat(40)}\n`, /nested/),
  rawAnswers('answers-file', 'very deep nesting', `a: ${'['.repeat(20000)}${']'.repeat(20000)}\n`, /syntax/),
  {
    kind: 'answers-file',
    name: '50 MB file',
    exit: 2,
    message: /at most 1 MiB/,
    setup: async (dir) => {
      await writeFile(join(dir, 'a.yaml'), '');
      await truncate(join(dir, 'a.yaml'), 50 * 2 ** 20);
      return ['validate', '--answers', 'a.yaml'];
    },
  },
  {
    kind: 'answers-file',
    name: 'FIFO',
    exit: 2,
    message: /not a regular file/,
    setup: async (dir) => {
      await execa('mkfifo', [join(dir, 'a.yaml')]);
      return ['validate', '--answers', 'a.yaml'];
    },
  },
  {
    kind: 'answers-file',
    name: 'directory',
    exit: 2,
    message: /not a regular file/,
    setup: async (dir) => {
      await mkdir(join(dir, 'a.yaml'));
      return ['validate', '--answers', 'a.yaml'];
    },
  },
  {
    kind: 'answers-file',
    name: '/dev/zero',
    exit: 2,
    message: /not a regular file/,
    setup: async () => ['validate', '--answers', '/dev/zero'],
  },
  {
    kind: 'answers-file',
    name: 'missing',
    exit: 2,
    message: /does not exist/,
    setup: async () => ['validate', '--answers', 'nope.yaml'],
  },
  // --- OS image ---
  build(
    'os-image',
    'empty',
    osImageFile(() => Buffer.alloc(0)),
    2,
    /OS image .* is empty/,
  ),
  build(
    'os-image',
    'random bytes',
    osImageFile(() => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251))),
    2,
    /not gzip data/,
  ),
  build(
    'os-image',
    'truncated gzip',
    osImageFile(() => fakeOsImage().subarray(0, 60)),
    2,
    /truncated or corrupt|corrupt gzip/,
  ),
  build(
    'os-image',
    'corrupted gzip',
    osImageFile(() => {
      const b = Buffer.from(fakeOsImage());
      b.fill(0x55, 12, 40);
      return b;
    }),
    2,
    /corrupt|GPT|truncated/,
  ),
  build(
    'os-image',
    'gzip of a text file',
    osImageFile(() => gzipSync(Buffer.from('hello\n'))),
    2,
    /does not hold a GPT disk/,
  ),
  build(
    'os-image',
    'gzip of a disk without GPT',
    osImageFile(() => gzipSync(Buffer.alloc(1 << 20))),
    2,
    /does not hold a GPT disk/,
  ),
  build(
    'os-image',
    'zstd instead of gzip',
    async (dir) => {
      await writeFile(join(dir, 'disk.raw'), Buffer.alloc(4096));
      await sh('zstd -q disk.raw -o bad.raw.gz', dir);
      return ['--os-image', 'bad.raw.gz'];
    },
    2,
    /not gzip data/,
  ),
  build(
    'os-image',
    'not named *.raw.gz',
    osImageFile(() => fakeOsImage(), 'image.img'),
    2,
    /must be a \*\.raw\.gz/,
  ),
  build(
    'os-image',
    'a directory',
    async (dir) => {
      await mkdir(join(dir, 'd.raw.gz'));
      return ['--os-image', 'd.raw.gz'];
    },
    2,
    /not a file/,
  ),
  build(
    'os-image',
    'a FIFO',
    async (dir) => {
      await execa('mkfifo', [join(dir, 'f.raw.gz')]);
      return ['--os-image', 'f.raw.gz'];
    },
    2,
    /not a file/,
  ),
  build(
    'os-image',
    'wrong sha256 in .sha256sum',
    async (dir) => {
      await writeFile(join(dir, 'img.raw.gz'), fakeOsImage());
      await writeFile(join(dir, 'img.raw.gz.sha256sum'), `${'0'.repeat(64)}  img.raw.gz\n`);
      return ['--os-image', 'img.raw.gz'];
    },
    4,
    /sha256|checksum/i,
  ),
  build(
    'os-image',
    'garbage .sha256sum',
    async (dir) => {
      await writeFile(join(dir, 'img.raw.gz'), fakeOsImage());
      await writeFile(join(dir, 'img.raw.gz.sha256sum'), 'this is not a checksum file\n');
      return ['--os-image', 'img.raw.gz'];
    },
    2,
    /sha256|checksum/i,
  ),
  // --- bootkit release ---
  build(
    'bootkit',
    'no kernel',
    bootkitRelease({ 'initramfs-1.img': Buffer.from('x') }),
    2,
    /holds no kernel \(vmlinuz-\*\)/,
  ),
  build(
    'bootkit',
    'no initramfs',
    bootkitRelease({ 'vmlinuz-1': fakeKernel() }),
    2,
    /holds no initramfs \(initramfs-\*, initrd\*\)/,
  ),
  build(
    'bootkit',
    'two kernels',
    bootkitRelease({ 'vmlinuz-1': fakeKernel(), 'vmlinuz-2': fakeKernel(), 'initramfs-1.img': Buffer.from('x') }),
    2,
    /several/,
  ),
  build(
    'bootkit',
    'kernel is a symlink',
    bootkitRelease({ 'vmlinuz-1': { link: '/boot/vmlinuz' }, 'initramfs-1.img': Buffer.from('x') }),
    2,
    /symbolic link/,
  ),
  build(
    'bootkit',
    'initramfs is a symlink out of the tree',
    bootkitRelease({ 'vmlinuz-1': fakeKernel(), 'initramfs-1.img': { link: '../../etc/passwd' } }),
    2,
    /symbolic link/,
  ),
  build(
    'bootkit',
    'kernel without bzImage header',
    bootkitRelease({ 'vmlinuz-1': Buffer.from('#!/bin/sh\n'), 'initramfs-1.img': Buffer.from('x') }),
    2,
    /bzImage/,
  ),
  build(
    'bootkit',
    'empty initramfs',
    bootkitRelease({ 'vmlinuz-1': fakeKernel(), 'initramfs-1.img': Buffer.alloc(0) }),
    2,
    /empty/,
  ),
  build(
    'bootkit',
    'not a tar archive',
    async (dir) => {
      await writeFile(join(dir, 'bk.tar.gz'), 'hello');
      return ['--bootkit', 'bk.tar.gz'];
    },
    2,
    /not a readable tar archive/,
  ),
  build(
    'bootkit',
    'truncated tar.gz',
    async (dir, good) => {
      await sh(`head -c 2000 '${good.release}' > bk.tar.gz`, dir);
      return ['--bootkit', 'bk.tar.gz'];
    },
    2,
    /tar|bootkit/,
  ),
  build(
    'bootkit',
    'empty release file',
    async (dir) => {
      await writeFile(join(dir, 'bk.tar.gz'), '');
      return ['--bootkit', 'bk.tar.gz'];
    },
    2,
    /bootkit|tar/,
  ),
  build(
    'bootkit',
    'release is a directory',
    async (dir) => {
      await mkdir(join(dir, 'bk.tar.gz'));
      return ['--bootkit', 'bk.tar.gz'];
    },
    2,
    /not a file|is a directory/,
  ),
  build(
    'bootkit',
    'wrong .sha256sum beside the release',
    async (dir, good) => {
      await sh(`cp '${good.release}' bk.tar.gz && echo "${'1'.repeat(64)}  bk.tar.gz" > bk.tar.gz.sha256sum`, dir);
      return ['--bootkit', 'bk.tar.gz'];
    },
    4,
    /sha256|checksum/i,
  ),
  build(
    'bootkit',
    'member with ../ in its path',
    async (dir) => {
      await sh(
        `mkdir -p r/x && printf 'HdrS' > r/vmlinuz-1 && echo x > r/initramfs-1.img && tar -czf bk.tar.gz -C r/x ../vmlinuz-1 ../initramfs-1.img`,
        dir,
      );
      return ['--bootkit', 'bk.tar.gz'];
    },
    2,
    /bzImage|bootkit|tar/,
  ),
  build(
    'bootkit',
    'member with an absolute path',
    async (dir) => {
      await sh(`mkdir -p r && echo x > r/initramfs-1.img && tar -czPf bk.tar.gz "$PWD/r/initramfs-1.img"`, dir);
      return ['--bootkit', 'bk.tar.gz'];
    },
    2,
    /holds no kernel \(vmlinuz-\*\)/,
  ),
  build(
    'bootkit',
    'huge size in a tar header',
    async (dir, good) => {
      // an uncompressed tar whose first header claims an 8 GB member
      await sh(
        `tar -xzf '${good.release}' -C . && tar -cf bk.tar vmlinuz-1 initramfs-1.img && printf '77777777777' | dd of=bk.tar bs=1 seek=124 conv=notrunc status=none && gzip -n bk.tar`,
        dir,
      );
      return ['--bootkit', 'bk.tar.gz'];
    },
    2,
    /tar|bootkit/,
  ),
  // --- initramfs inside a release ---
  build('initramfs', 'not cpio (text)', initramfsRelease(`echo hello > initramfs-1.img`), 2, /initramfs/),
  build(
    'initramfs',
    'truncated gzip cpio',
    initramfsRelease(
      `mkdir -p t && echo hi > t/a && (cd t && find . | cpio -o -H newc --quiet) | gzip > x && head -c 20 x > initramfs-1.img`,
    ),
    2,
    /initramfs/,
  ),
  build(
    'initramfs',
    'corrupted zstd',
    initramfsRelease(`printf '\\x28\\xb5\\x2f\\xfd garbage garbage garbage' > initramfs-1.img`),
    2,
    /initramfs/,
  ),
  build(
    'initramfs',
    'corrupted xz',
    initramfsRelease(`printf '\\xfd7zXZ\\x00 garbage garbage' > initramfs-1.img`),
    2,
    /initramfs/,
  ),
  build(
    'initramfs',
    'corrupted lz4',
    initramfsRelease(`printf '\\x02\\x21\\x4c\\x18 garbage garbage' > initramfs-1.img`),
    2,
    /initramfs/,
  ),
  build(
    'initramfs',
    'truncated cpio',
    initramfsRelease(
      `mkdir -p t && head -c 5000 /dev/zero > t/a && (cd t && find . | cpio -o -H newc --quiet) > full.cpio && head -c 300 full.cpio > initramfs-1.img`,
    ),
    2,
    /initramfs/,
  ),
  build(
    'initramfs',
    'cpio without rootfs.tar.gz',
    initramfsRelease(
      `mkdir -p t && echo hi > t/init && (cd t && find . | cpio -o -H newc --quiet) | gzip > initramfs-1.img`,
    ),
    2,
    /rootfs\.tar\.gz/,
  ),
  // --- output ---
  build(
    'output',
    'output is the bootkit (--force)',
    async (_d, good) => ['-o', good.release, '--force'],
    2,
    /is the bootkit release/,
  ),
  build(
    'output',
    'output is the OS image (--force)',
    async (_d, good) => ['-o', good.osImage, '--force'],
    2,
    /is the OS image/,
  ),
  build(
    'output',
    'output is the answers file (--force)',
    async () => ['-o', 'a.yaml', '--force'],
    2,
    /is the answers file/,
  ),
  build(
    'output',
    'output is a directory',
    async (dir) => {
      await mkdir(join(dir, 'o.iso'));
      return ['-o', 'o.iso', '--force'];
    },
    2,
    /not a file|is a directory/,
  ),
  build('output', 'output directory missing', async () => ['-o', 'nodir/o.iso'], 2, /does not exist/),
  build(
    'packages',
    'rpm cut after its lead',
    async (dir) => {
      await sh(`printf '\\xed\\xab\\xee\\xdb' > cut.rpm && head -c 120 /dev/zero >> cut.rpm`, dir);
      return ['--packages', 'cut.rpm'];
    },
    2,
    /cut\.rpm is not a readable \.rpm package \(.*\); it is truncated or damaged/,
  ),
  build(
    'packages',
    'deb cut inside data.tar',
    async (dir) => {
      await sh(
        `mkdir -p p/DEBIAN p/usr/bin && printf 'Package: p\\nVersion: 1\\nArchitecture: all\\nMaintainer: t <t@t>\\nDescription: t\\n' > p/DEBIAN/control && head -c 200000 /dev/urandom > p/usr/bin/x && dpkg-deb -Zxz -b p full.deb >/dev/null && head -c 50000 full.deb > cut.deb`,
        dir,
      );
      return ['--packages', 'cut.deb'];
    },
    2,
    /cut\.deb is not a readable \.deb package \(.*\); it is truncated or damaged/,
  ),
  build(
    'packages',
    'package directory missing',
    async () => ['--packages', 'nopkgs'],
    2,
    /the package path .*nopkgs does not exist/,
  ),
  build(
    'output',
    'SOURCE_DATE_EPOCH at 2^32',
    async (dir, good) => {
      await writeFile(join(dir, 'a.yaml'), stringify({ ...baseAnswers(good), output: { path: 'out.iso' } }), {
        mode: 0o600,
      });
      return [];
    },
    2,
    /SOURCE_DATE_EPOCH/,
    { SOURCE_DATE_EPOCH: String(2 ** 32) },
  ),
  // --- write, inspect, hash-password ---
  {
    kind: 'write',
    name: 'ISO is /dev/zero',
    exit: 2,
    message: /not a regular file/,
    setup: async () => ['write', '/dev/zero', 'x.img', '--yes'],
  },
  {
    kind: 'write',
    name: 'ISO is a directory',
    exit: 2,
    message: /not a regular file/,
    setup: async (dir) => ['write', dir, 'x.img', '--yes'],
  },
  {
    kind: 'write',
    name: 'ISO is empty',
    exit: 2,
    message: /is empty/,
    setup: async (dir) => {
      await writeFile(join(dir, 'e.iso'), '');
      return ['write', 'e.iso', 'x.img', '--yes'];
    },
  },
  {
    kind: 'write',
    name: 'ISO missing',
    exit: 2,
    message: /does not exist/,
    setup: async () => ['write', 'nope.iso', 'x.img', '--yes'],
  },
  {
    kind: 'inspect',
    name: 'random file',
    exit: 2,
    message: /not an ISO 9660 image/,
    setup: async (dir) => {
      await writeFile(join(dir, 'r.iso'), Buffer.alloc(40000, 7));
      return ['inspect', 'r.iso'];
    },
  },
  {
    kind: 'inspect',
    name: 'xorriso missing',
    exit: 3,
    message: /xorriso is not installed/,
    env: { PATH: '/nonexistent' },
    setup: async (dir) => {
      const b = Buffer.alloc(40000);
      b.write('\x01CD001', 32768, 'latin1');
      await writeFile(join(dir, 'x.iso'), b);
      return ['inspect', 'x.iso'];
    },
  },
  {
    kind: 'inspect',
    name: 'malformed manifest',
    exit: 2,
    message: /malformed make-iso manifest/,
    setup: async (dir) => {
      await sh(
        `mkdir -p t/.make-iso t2 && echo '{"not": "a manifest"' > t/.make-iso/manifest.json && xorriso -as mkisofs -quiet -o m.iso -V X t 2>/dev/null`,
        dir,
      );
      await chmod(join(dir, 'm.iso'), 0o600);
      return ['inspect', 'm.iso'];
    },
  },
  {
    kind: 'hash-password',
    name: 'rounds 999999999',
    exit: 2,
    message: /rounds must be/,
    setup: async (dir) => {
      await writeFile(join(dir, 'pw'), 'secret\n');
      return ['hash-password', '--rounds', '999999999'];
    },
  },
];
