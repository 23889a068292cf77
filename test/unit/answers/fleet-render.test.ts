// Why: a fleet medium carries one full install.env per node entry (the same renderer over the
// entry's merged answers) and one match table the installer reads at step 1; a build without
// `nodes:` must stay byte-identical to what it was.
import { describe, expect, test } from 'vitest';
import { answersSchema, type Answers } from '../../../src/answers/schema.js';
import { rootfsChange } from '../../../src/build/plan.js';
import {
  NODE_MATCH_PATH,
  installEnvEntries,
  renderInstallerConfig,
  renderNodeMatch,
} from '../../../src/render/installer-config.js';
import { redactAnswers } from '../../../src/render/installer-config.js';
import { ED25519, ECDSA, HASH } from './helpers.js';

const ctx = { osImageName: 'emt.raw.gz', osImageSha256: 'ab'.repeat(32), version: '1.2.3' };

function answers(extra: Record<string, unknown> = {}): Answers {
  return answersSchema.parse({
    bootkit: { archive: '/in/boot.tar.gz' },
    osImage: { path: '/in/emt.raw.gz' },
    user: { name: 'edge', passwordHash: HASH, sshKeys: [ED25519] },
    network: { mode: 'static', address: '10.0.0.1', prefix: 24, gateway: '10.0.0.254' },
    ...extra,
  });
}

const fleet = [
  { name: 'a', match: { mac: '52:54:00:AA:00:01' }, hostname: 'node-a', network: { address: '10.0.0.11' } },
  {
    name: 'b',
    match: { smbiosSerial: 'SER-B', mac: '52:54:00:*' },
    hostname: 'node-b',
    user: { sshKeys: [ECDSA] },
    disk: { minGiB: 50 },
  },
  { name: 'spare', default: true },
];

describe('fleet render', () => {
  test('without nodes: the config has no node files and install.env is what it was', () => {
    const a = answers();
    const c = renderInstallerConfig(a, ctx);
    expect(c.nodes).toBeUndefined();
    expect(c.nodeMatch).toBeUndefined();
    expect(rootfsChange(c, [], [], '1.2.3').files.some((f) => f.path.includes('/nodes/'))).toBe(false);
    // the base install.env is the same whether or not the answers carry nodes
    expect(renderInstallerConfig(answers({ nodes: fleet }), ctx).installEnv).toBe(c.installEnv);
  });

  test('each entry gets the base install.env with its own overrides', () => {
    const c = renderInstallerConfig(answers({ nodes: fleet }), ctx);
    expect(c.nodes?.map((n) => n.name)).toEqual(['a', 'b', 'spare']);
    const env = Object.fromEntries(c.nodes!.map((n) => [n.name, n.installEnv]));
    expect(env.a).toContain("MI_HOSTNAME='node-a'");
    expect(env.a).toContain("MI_NET_ADDRESS='10.0.0.11'");
    expect(env.a).toContain("MI_NET_GATEWAY='10.0.0.254'");
    expect(env.a).toContain(`'${ED25519}'`);
    expect(env.b).toContain("MI_HOSTNAME='node-b'");
    expect(env.b).toContain("MI_NET_ADDRESS='10.0.0.1'");
    expect(env.b).toContain("MI_DISK_MIN_GIB='50'");
    expect(env.b).toContain(`'${ECDSA}'`);
    expect(env.b).not.toContain(ED25519);
    expect(env.spare).toBe(c.installEnv);
    // same keys, same order as the base: the installer's config_load reads them all
    const keys = (s: string): string[] => [...s.matchAll(/^([A-Z_0-9]+)=/gm)].map((m) => m[1]!);
    expect(keys(env.b!)).toEqual(installEnvEntries(answers(), ctx).map(([k]) => k));
  });

  test('the match table: one line per criterion, MACs lower-cased, the default last as written', () => {
    expect(
      renderNodeMatch(answers({ nodes: fleet }))
        .split('\n')
        .slice(1),
    ).toEqual(['a\tmac\t52:54:00:aa:00:01', 'b\tmac\t52:54:00:*', 'b\tsmbiosSerial\tSER-B', 'spare\tdefault\t*', '']);
  });

  test('the rootfs gets nodes/<name>.env (0600) and the match table next to install.env', () => {
    const c = renderInstallerConfig(answers({ nodes: fleet }), ctx);
    const files = rootfsChange(c, [], [], '1.2.3').files;
    const byPath = new Map(files.map((f) => [f.path, f]));
    expect(NODE_MATCH_PATH).toBe('etc/make-iso/nodes/match.tsv');
    expect(byPath.get('etc/make-iso/nodes/a.env')).toMatchObject({ mode: 0o600 });
    expect(byPath.get('etc/make-iso/nodes/spare.env')).toMatchObject({ mode: 0o600 });
    expect(byPath.has(NODE_MATCH_PATH)).toBe(true);
    expect(byPath.has('etc/make-iso/install.env')).toBe(true);
  });

  test("an entry's cloudInit keys replace the base's; each entry with extras gets its own cloud-init file, redacted in the manifest", () => {
    const a = answers({
      cloudInit: { runcmd: ['echo base'], services: { enable: ['base.service'] } },
      nodes: [
        {
          name: 'a',
          match: { mac: '52:54:00:aa:00:01' },
          cloudInit: { writeFiles: [{ path: '/etc/site/a.conf', content: 'secret-a' }], runcmd: ['echo a'] },
        },
        { name: 'b', match: { mac: '52:54:00:aa:00:02' }, cloudInit: { runcmd: [], services: { enable: [] } } },
        { name: 'c', match: { mac: '52:54:00:aa:00:03' } },
      ],
    });
    const c = renderInstallerConfig(a, ctx);
    const node = Object.fromEntries(c.nodes!.map((n) => [n.name, n]));
    // a: its runcmd replaces the base's, its file is added, the base's services stay
    expect(node.a!.cloudInit).toContain('secret-a');
    expect(node.a!.cloudInit).toContain('echo a');
    expect(node.a!.cloudInit).not.toContain('echo base');
    expect(node.a!.cloudInit).toContain('base.service');
    expect(node.a!.installEnv).toContain("MI_CLOUD_INIT='yes'");
    // b: every extra replaced by nothing: no file, and the installer is told so
    expect(node.b!.cloudInit).toBeUndefined();
    expect(node.b!.installEnv).toContain("MI_CLOUD_INIT='no'");
    // c: the base's extras
    expect(node.c!.cloudInit).toBe(c.cloudInit);
    const files = new Map(rootfsChange(c, [], [], '1.2.3').files.map((f) => [f.path, f]));
    expect(files.get('etc/make-iso/nodes/a.cloud-init.yaml')).toMatchObject({ mode: 0o600 });
    expect(files.has('etc/make-iso/nodes/b.cloud-init.yaml')).toBe(false);
    expect(files.has('etc/make-iso/nodes/c.cloud-init.yaml')).toBe(true);
    // what the manifest (and make-iso inspect) shows holds no file content of any entry
    const shown = JSON.stringify(redactAnswers(a));
    expect(shown).not.toContain('secret-a');
    expect(shown).toMatch(/<redacted>: 8 bytes, sha256 [0-9a-f]{64}/);
    expect(shown).toContain('/etc/site/a.conf');
  });

  test("an entry's cloudInit is checked like the base's: a bad unit name is refused naming the entry", async () => {
    const { checkNodes } = await import('../../../src/answers/fleet.js');
    const a = answers({
      nodes: [{ name: 'a', match: { mac: '52:54:00:aa:00:01' }, cloudInit: { services: { enable: ['no such'] } } }],
    });
    expect(checkNodes(a).join('\n')).toMatch(/^nodes\[0\] \(a\): cloudInit\.services\.enable\[0\]: /m);
  });
});
