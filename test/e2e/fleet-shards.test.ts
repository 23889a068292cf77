// Why: a fleet's per-node ISOs are built by N independent shard processes (a Kubernetes Indexed
// Job, a CI matrix) writing into one output directory. Run as such, over a CSV node list, every
// node's ISO must appear exactly once, carry its own host name and address, and nothing else may
// be left in the directory; a bad row must fail every shard before any ISO is written. No VM.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { projectRoot } from '../../src/version.js';
import { TEST_PASSWORD_HASH, TEST_SSH_KEY } from '../helpers/iso.js';

const fx = inject('fixtures');
const MAIN = join(projectRoot, 'dist/cli/main.js');
const SHARDS = 3;
const NODES = Array.from({ length: 7 }, (_, i) => ({
  name: `rack1-${i}`,
  hostname: `edge-${i}`,
  address: `10.1.2.${20 + i}`,
}));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'make-iso-fleet-'));
  await writeFile(
    join(dir, 'site.yaml'),
    `bootkit: { archive: '${fx.builds['full-gzip'].tarball}' }
osImage: { path: '${fx.osImage}' }
output: { path: unused.iso, sourceDateEpoch: 1700000000 }
user: { name: ops, passwordHash: '${TEST_PASSWORD_HASH}', sshKeys: ['${TEST_SSH_KEY}'] }
network: { mode: static, address: 10.1.2.2, prefix: 24, gateway: 10.1.2.1 }
afterInstall: poweroff
`,
    { mode: 0o600 },
  );
  const rows = NODES.map((n) => `${n.name},${n.hostname},${n.address},"10.1.2.1; 10.1.2.254"`);
  await writeFile(join(dir, 'nodes.csv'), `\uFEFFname,hostname,network.address,network.dns\n${rows.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One shard process: shard 0..N-2 by --shard I/N, the last as a Kubernetes Indexed Job pod would. */
function shard(i: number, csv: string, out: string) {
  const byEnv = i === SHARDS - 1;
  return execa(
    process.execPath,
    [
      MAIN,
      'build',
      '--answers',
      'site.yaml',
      '--nodes',
      csv,
      '--output-dir',
      out,
      '--json',
      ...(byEnv ? [] : ['--shard', `${i}/${SHARDS}`]),
    ],
    {
      cwd: dir,
      reject: false,
      env: {
        NO_COLOR: '1',
        // a cache of their own, cold: the shards race to fill it
        MAKE_ISO_CACHE: join(dir, 'cache'),
        ...(byEnv ? { JOB_COMPLETION_INDEX: String(i), MAKE_ISO_SHARD_COUNT: String(SHARDS) } : {}),
      },
    },
  );
}

it('N shards as separate processes build every node of a CSV list exactly once, each with its own host name', async () => {
  const started = Date.now();
  const runs = await Promise.all(Array.from({ length: SHARDS }, (_, i) => shard(i, 'nodes.csv', 'isos')));
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(`fleet shards: ${SHARDS} shards, ${NODES.length} ISOs in ${seconds.toFixed(1)} s\n`);

  const built: string[] = [];
  runs.forEach((r, i) => {
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      nodes: Array<{ output: string }>;
      shard: { index: number; count: number; nodes: string[]; of: number };
    };
    const mine = NODES.filter((_, k) => k % SHARDS === i).map((n) => n.name);
    expect(result.shard).toEqual({ index: i, count: SHARDS, nodes: mine, of: NODES.length });
    expect(result.nodes.map((n) => n.output)).toEqual(mine.map((m) => join(dir, 'isos', `${m}.iso`)));
    built.push(...mine);
  });
  expect(built.sort()).toEqual(NODES.map((n) => n.name).sort());
  // exactly the ISOs: no temp file, no cache, no partial output left behind
  expect((await readdir(join(dir, 'isos'))).sort()).toEqual(NODES.map((n) => `${n.name}.iso`).sort());

  // each ISO carries its own node's answers (read back from the ISO, not from the build's report)
  for (const n of NODES) {
    const r = await execa(process.execPath, [MAIN, 'inspect', join(dir, 'isos', `${n.name}.iso`), '--json'], {
      reject: false,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as {
      manifest: { answers: { redacted: { hostname: string; network: { address: string; dns: string[] } } } };
    };
    expect(info.manifest.answers.redacted.hostname).toBe(n.hostname);
    expect(info.manifest.answers.redacted.network).toMatchObject({
      address: n.address,
      dns: ['10.1.2.1', '10.1.2.254'],
    });
  }
});

it('a bad row fails every shard (exit 2, naming file, row and column) before any ISO is written', async () => {
  const rows = NODES.map((n, i) => `${n.name},${n.hostname},${i === 5 ? '10.1.2.300' : n.address}`);
  await writeFile(join(dir, 'bad.csv'), `name,hostname,network.address\n${rows.join('\n')}\n`);
  for (let i = 0; i < SHARDS; i++) {
    const r = await shard(i, 'bad.csv', 'bad-isos');
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/bad\.csv row 7, column network\.address: /);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
  }
  await expect(readdir(join(dir, 'bad-isos'))).rejects.toThrow(/ENOENT/);
});

it('answers that carry a nodes: list (one medium for many machines) are refused with --nodes', async () => {
  const site = await readFile(join(dir, 'site.yaml'), 'utf8');
  await writeFile(
    join(dir, 'fleet.yaml'),
    `${site}nodes:\n  - { name: a, match: { mac: '52:54:00:00:00:01' }, hostname: node-a }\n`,
    { mode: 0o600 },
  );
  const r = await execa(
    process.execPath,
    [MAIN, 'build', '--answers', 'fleet.yaml', '--nodes', 'nodes.csv', '--output-dir', 'mixed-isos'],
    { cwd: dir, reject: false, env: { NO_COLOR: '1', MAKE_ISO_CACHE: join(dir, 'cache') } },
  );
  expect(r.exitCode, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/the answers carry a nodes: list .*--nodes builds one ISO per node: use one or the other/);
  await expect(readdir(join(dir, 'mixed-isos'))).rejects.toThrow(/ENOENT/);
});
