// Why: issue 15's container image: the repo's Containerfile builds with Debian's buildah on a base
// made here from a debootstrap tree (no registry is reachable), and the image, run as its non-root
// user with the inputs mounted read-only, writes the same ISO, byte for byte, as a build on this
// machine from the same inputs.
//
// The image is run with `buildah run --isolation chroot`, not `podman run`: this sandbox lacks
// CAP_SYS_RESOURCE and runs cgroups in hybrid mode, so crun and runc cannot start a container
// (they fail setting RLIMIT_NPROC / RLIMIT_NOFILE). The image is the same; docs/container.md shows
// `podman run` / `docker run`, which is what a user runs. Chroot isolation also cannot take
// `--network none`: the run gets no network-dependent input either way.
import { chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256File } from '../../src/io/hash.js';
import { projectRoot } from '../../src/version.js';
import { TEST_PASSWORD_HASH, TEST_SSH_KEY } from '../helpers/iso.js';

const fx = inject('fixtures');
const MAIN = join(projectRoot, 'dist/cli/main.js');
const IMAGE = 'localhost/make-iso:e2e';
/** The image's user (Containerfile USER). */
const UID = 10001;

let dir = '';
let container = '';

/** A command's output; a failure carries the tail of its stderr. */
async function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await execa(cmd, args, { ...opts, reject: false, all: true });
  if (r.exitCode !== 0) {
    throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} ... exited ${r.exitCode}:\n${(r.all ?? '').slice(-3000)}`);
  }
  return r.stdout;
}

const answers = [
  'bootkit: {archive: bootkit.tar.gz}',
  'osImage: {path: os-image.raw.gz}',
  'output: {sourceDateEpoch: 1700000000}',
  'user:',
  '  name: edge',
  `  passwordHash: '${TEST_PASSWORD_HASH}'`,
  `  sshKeys: ['${TEST_SSH_KEY}']`,
  'hostname: container-built',
  '',
].join('\n');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-container-'));
  const base = (await run('bash', [join(projectRoot, 'test/helpers/container-base.sh')])).trim();
  const t0 = Date.now();
  await run(
    'buildah',
    ['bud', '--isolation', 'chroot', '--build-arg', `BASE=${base}`, '-t', IMAGE, '-f', 'Containerfile', '.'],
    {
      cwd: projectRoot,
    },
  );
  process.stderr.write(`container-image: image built on ${base} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}, 20 * 60_000);
afterAll(async () => {
  if (container) await execa('buildah', ['rm', container], { reject: false });
  await rm(dir, { recursive: true, force: true });
});

describe('the container image (Containerfile)', () => {
  it('runs as a non-root user with read-only inputs and writes the same ISO (sha256) as the host build', async () => {
    const inputs = join(dir, 'in');
    const out = join(dir, 'out');
    await mkdir(inputs);
    await mkdir(out, { mode: 0o777 });
    await execa('chmod', ['777', out]);
    // the answers hold a password hash: mode 0600, owned by the image's user (docs/container.md)
    await writeFile(join(inputs, 'answers.yaml'), answers, { mode: 0o600 });
    await chown(join(inputs, 'answers.yaml'), UID, UID);
    const bootkit = fx.builds['full-gzip'].tarball;
    container = (await run('buildah', ['from', IMAGE])).trim();
    const t0 = Date.now();
    const inside = await run('buildah', [
      'run',
      '--isolation',
      'chroot',
      '--user',
      `${UID}:${UID}`,
      '-v',
      `${join(inputs, 'answers.yaml')}:/in/answers.yaml:ro`,
      '-v',
      `${bootkit}:/in/bootkit.tar.gz:ro`,
      '-v',
      `${fx.osImage}:/in/os-image.raw.gz:ro`,
      '-v',
      `${out}:/out`,
      container,
      '--',
      'sh',
      '-c',
      'echo "uid=$(id -u)"; if touch /in/os-image.raw.gz 2>/dev/null; then echo inputs-writable; else echo inputs-read-only; fi; ' +
        'cd /out && node /opt/make-iso/dist/cli/main.js build --answers /in/answers.yaml --output /out/node.iso -q',
    ]);
    const took = (Date.now() - t0) / 1000;
    expect(inside).toContain(`uid=${UID}`);
    expect(inside).toContain('inputs-read-only');
    expect(inside).toContain('built /out/node.iso');
    const iso = join(out, 'node.iso');
    expect((await stat(iso)).uid, 'the ISO is written by the image user').toBe(UID);

    // the same inputs on the host, given as symlinks (as a download directory would): the ISO
    // must hold the image itself, not a link to the build machine's path
    const hostIn = join(dir, 'host-in');
    await mkdir(hostIn);
    await writeFile(join(hostIn, 'answers.yaml'), answers, { mode: 0o600 });
    await symlink(bootkit, join(hostIn, 'bootkit.tar.gz'));
    await symlink(fx.osImage, join(hostIn, 'os-image.raw.gz'));
    const hostIso = join(dir, 'host.iso');
    await run(process.execPath, [MAIN, 'build', '--answers', join(hostIn, 'answers.yaml'), '--output', hostIso, '-q']);
    const listing = await run('xorriso', ['-indev', hostIso, '-find', '/images', '-exec', 'lsdl', '--']);
    expect(listing).toMatch(new RegExp(`^-r.* ${(await stat(fx.osImage)).size} .*'/images/os-image\\.raw\\.gz'$`, 'm'));

    const [container1, host] = await Promise.all([sha256File(iso), sha256File(hostIso)]);
    process.stderr.write(`container-image: container build ${took.toFixed(1)} s, sha256 ${container1}\n`);
    expect(container1).toBe(host);
  });
});
