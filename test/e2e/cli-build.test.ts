// Why: `make-iso --answers FILE` as a user runs it, on the real fixtures: the ISO is built, the
// rendered install.env is the one embedded, no secret reaches the manifest, and rebuilds are
// refused without --force and reproducible with it.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { parseAnswers } from '../../src/answers/load.js';
import type { Manifest } from '../../src/manifest.js';
import { probeOsImage } from '../../src/io/image-probe.js';
import { answersDigest, renderInstallerConfig } from '../../src/render/installer-config.js';
import { projectRoot, version } from '../../src/version.js';
import { makeGptImage } from '../helpers/gpt-image.js';
import { TEST_PASSWORD_HASH, TEST_SSH_KEY } from '../helpers/iso.js';

const fx = inject('fixtures');
const MAIN = join(projectRoot, 'dist/cli/main.js');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function yamlFile(): string {
  return `# yaml-language-server: $schema=${join(projectRoot, 'answers.schema.json')}
bootkit: { archive: '${fx.builds['full-gzip'].tarball}' }
osImage: { path: '${fx.osImage}' }
output: { path: site.iso, sourceDateEpoch: 1700000000 }
user:
  name: ops
  passwordHash: '${TEST_PASSWORD_HASH}'
  sshKeys: ['${TEST_SSH_KEY}']
hostname: edge-7
proxy: { http: 'http://user:pw@proxy:3128' }
network: { mode: static, address: 10.1.2.3, prefix: 24, gateway: 10.1.2.1, dns: [10.1.2.1] }
cloudInit:
  writeFiles: [{ path: /etc/motd, content: "it's \\"here\\" $(nothing)\\n" }]
afterInstall: poweroff
`;
}

function cli(args: string[]) {
  return execa(process.execPath, [MAIN, ...args], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
}

it('builds from an answers file, embeds the rendered install.env, leaks no secret', async () => {
  const file = join(dir, 'site.yaml');
  await writeFile(file, yamlFile(), { mode: 0o600 });
  const r = await cli(['--answers', 'site.yaml', '--json', '--sha256']);
  expect(r.exitCode, r.stderr).toBe(0);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.filter((l) => l.type === 'progress').length).toBeGreaterThan(3);
  const result = lines.at(-1) as { type: string; output: string; volid: string; sha256: string; manifest: Manifest };
  expect(result.type).toBe('result');
  expect(result.output).toBe(join(dir, 'site.iso'));

  // the manifest records the same digest and the same install.env bytes we render here
  const answers = (await parseAnswers(yamlFile(), dir, { force: true })).answers!;
  expect(result.manifest.answers.digest).toBe(answersDigest(answers));
  const imageSha = (await readFile(fx.osImageSha256sum, 'utf8')).split(/\s+/)[0]!;
  const { installEnv } = renderInstallerConfig(answers, {
    osImageName: `images/${fx.osImage.split('/').pop()}`,
    osImageSha256: imageSha,
    version,
    image: await probeOsImage(fx.osImage),
  });
  expect(installEnv).toContain("MI_IMAGE_CLOUD_INIT='yes'");
  const envEntry = result.manifest.rootfsAdded.find((f) => f.path.endsWith('etc/make-iso/install.env'));
  expect(envEntry?.sha256).toBe(createHash('sha256').update(installEnv).digest('hex'));
  expect(result.manifest.rootfsAdded.some((f) => f.path.endsWith('etc/make-iso/cloud-init.yaml'))).toBe(true);
  const manifestText = JSON.stringify(result.manifest);
  expect(manifestText).not.toContain(TEST_PASSWORD_HASH);
  expect(manifestText).not.toContain('user:pw@');
  expect(manifestText).not.toContain('nothing)');

  // again without --force: refused, exit 2; with --force: the same bytes
  const again = await cli(['--answers', 'site.yaml']);
  expect(again.exitCode).toBe(2);
  expect(again.stderr).toMatch(/site\.iso already exists; use --force/);
  const forced = await cli(['build', '--answers', 'site.yaml', '--force', '--quiet', '--sha256']);
  expect(forced.exitCode, forced.stderr).toBe(0);
  expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(forced.stdout).toContain(`sha256:    ${result.sha256}`);

  // a flag overrides the file
  const other = await cli(['--answers', 'site.yaml', '--output', 'other.iso', '--quiet']);
  expect(other.exitCode, other.stderr).toBe(0);
  expect(other.stdout).toContain(`built ${join(dir, 'other.iso')}`);
  expect(other.stdout).not.toContain('sha256:'); // the ISO is hashed only when asked (--sha256)
});

it('--nodes builds one ISO per node, each with its own host name and volume id', async () => {
  const file = join(dir, 'site.yaml');
  await writeFile(file, yamlFile(), { mode: 0o600 });
  await writeFile(
    join(dir, 'nodes.yaml'),
    'nodes:\n  - hostname: edge-1\n  - name: second\n    hostname: edge-2\n    network: {dns: [10.0.0.53]}\n',
  );
  const r = await cli([
    'build',
    '--answers',
    'site.yaml',
    '--nodes',
    'nodes.yaml',
    '--output-dir',
    'per-node',
    '--json',
  ]);
  expect(r.exitCode, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    nodes: Array<{ output: string; volid: string; manifest: Manifest }>;
  };
  expect(result.nodes.map((n) => n.output)).toEqual([
    join(dir, 'per-node', 'edge-1.iso'),
    join(dir, 'per-node', 'second.iso'),
  ]);
  expect(new Set(result.nodes.map((n) => n.volid)).size).toBe(2);
  const redacted = result.nodes.map(
    (n) => n.manifest.answers.redacted as { hostname?: string; network: { dns: string[] } },
  );
  expect(redacted.map((a) => a.hostname)).toEqual(['edge-1', 'edge-2']);
  expect(redacted[1]!.network.dns).toEqual(['10.0.0.53']);
  for (const n of result.nodes) expect((await stat(n.output)).size).toBeGreaterThan(0);
});

it('answers the OS image cannot take are refused before any ISO work: exit 2, one line each, no output', async () => {
  const sub = await mkdtemp(join(dir, 'needs-'));
  const img = makeGptImage(sub, 'bare.raw.gz', { files: { 'etc/hostname': 'bare\n' }, persistent: 'none' });
  const yaml = yamlFile()
    .replace(`osImage: { path: '${fx.osImage}' }`, `osImage: { path: '${img}' }`)
    .replace('afterInstall: poweroff', 'ntp: { servers: [pool.ntp.org] }\nuserAppsDir: apps\nafterInstall: poweroff');
  await mkdir(join(sub, 'apps'));
  await writeFile(join(sub, 'apps', 'app.sh'), 'true\n');
  await writeFile(join(sub, 'a.yaml'), yaml, { mode: 0o600 });
  const tmp = await mkdtemp(join(dir, 'tmp-')); // the build's TMPDIR: the probe's temp files go here
  const r = await execa(process.execPath, [MAIN, '--answers', join(sub, 'a.yaml'), '--output', join(sub, 'out.iso')], {
    cwd: dir,
    reject: false,
    env: { NO_COLOR: '1', TMPDIR: tmp },
  });
  expect(r.exitCode, r.stderr).toBe(2);
  expect(r.stderr).toContain(`the answers cannot apply to the OS image ${img}:`);
  const reasons = [
    'cloudInit answers need cloud-init, which the OS image lacks',
    'ntp.servers needs cloud-init (its ntp module drives chrony), which the OS image lacks',
    'ntp.servers needs chrony, which the OS image lacks',
    'userAppsDir needs an edge_persistent partition, which the OS image lacks',
  ];
  for (const reason of reasons) expect(r.stderr.split('\n')).toContain(`  ${reason}`);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
  expect((await readdir(sub)).sort()).toEqual(['a.yaml', 'apps', 'bare.raw.gz']);
  expect(await readdir(tmp)).toEqual([]);
});

it('Ctrl-C during a build exits 130 and leaves no partial ISO', async () => {
  const sub = await mkdtemp(join(dir, 'int-'));
  await writeFile(join(sub, 'a.yaml'), yamlFile(), { mode: 0o600 });
  // no build cache: the scan must really run (a cached bootkit skips it) so there is time to interrupt
  const child = execa(process.execPath, [MAIN, '--answers', 'a.yaml'], {
    cwd: sub,
    reject: false,
    env: { NO_COLOR: '1', MAKE_ISO_NO_CACHE: '1' },
  });
  let seen = '';
  await new Promise<void>((resolve) => {
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('scanning')) resolve();
    });
    void child.finally(() => resolve()); // a build that ends first fails the checks below, never hangs
  });
  child.kill('SIGINT');
  const r = await child;
  expect(r.exitCode).toBe(130);
  expect(r.stderr).toMatch(/make-iso: interrupted/);
  expect(r.stderr).not.toMatch(/\s+at .*:\d+:\d+/);
  expect(await readdir(sub)).toEqual(['a.yaml']);
});
