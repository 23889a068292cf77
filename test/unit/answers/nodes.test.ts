// Why: the node list is the only way per-node ISOs differ; it must say exactly what is wrong,
// never let a name escape the output directory, and merge a node's network key by key.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNodes, nodeName, nodeOverrides, nodesFileSchema } from '../../../src/answers/nodes.js';
import { parseAnswers } from '../../../src/answers/load.js';
import { ValidationError } from '../../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mi-nodes-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('node list', () => {
  it('reads hostname, name and network; the name defaults to the host name', async () => {
    const f = join(dir, 'nodes.yaml');
    await writeFile(
      f,
      'nodes:\n  - hostname: edge-1\n    network: {address: 10.0.0.11}\n  - name: b\n    hostname: edge-2\n',
    );
    const nodes = await loadNodes(f);
    expect(nodes.map(nodeName)).toEqual(['edge-1', 'b']);
  });

  it('refuses duplicate names, path-like names, unknown keys and an empty list, all at once', () => {
    const r = nodesFileSchema.safeParse({
      nodes: [
        { hostname: 'a' },
        { hostname: 'a' },
        { name: '../x', hostname: 'c' },
        { hostname: 'd', bootkit: '/x/rel.tar.gz' },
      ],
    });
    expect(r.success).toBe(false);
    const messages = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(messages).toMatch(/nodes\.1: node name a is used twice/);
    expect(messages).toMatch(/nodes\.2\.name: must be 1-63/);
    expect(messages).toMatch(/nodes\.3: Unrecognized key.*bootkit/i);
    expect(nodesFileSchema.safeParse({ nodes: [] }).success).toBe(false);
  });

  it('a missing or invalid file is one clear error', async () => {
    await expect(loadNodes(join(dir, 'nope.yaml'))).rejects.toThrow(/does not exist/);
    const f = join(dir, 'bad.yaml');
    await writeFile(f, 'nodes:\n  - hostname: "not a host"\n');
    await expect(loadNodes(f)).rejects.toThrow(ValidationError);
  });

  it("merges a node's network over the base's, key by key, and validates the result", async () => {
    const base = [
      'bootkit: {archive: /x/rel.tar.gz}',
      'osImage: {path: /x/os.raw.gz}',
      'output: {path: /x/out.iso}',
      'user: {name: ops, passwordHash: "$6$bench$Ql6gY.3sMtyPUD6i5ZOcGtHbqB.rG8qv6dN1qAHJnxvi8PVFB/RM0J7Ncx1Pq8JrXh8bqXXrGJQ0ZDAy7d6aB1"}',
      'network: {mode: static, prefix: 24, gateway: 10.0.0.1, address: 10.0.0.2}',
    ].join('\n');
    const ok = await parseAnswers(base, dir, {
      checkFiles: false,
      overrides: nodeOverrides({ hostname: 'edge-1', network: { address: '10.0.0.11' } }),
    });
    expect(ok.errors).toEqual([]);
    expect(ok.answers?.hostname).toBe('edge-1');
    expect(ok.answers?.network).toMatchObject({
      mode: 'static',
      prefix: 24,
      gateway: '10.0.0.1',
      address: '10.0.0.11',
    });
    const bad = await parseAnswers(base, dir, {
      checkFiles: false,
      overrides: nodeOverrides({ hostname: 'edge-2', network: { prefix: 999 } }),
    });
    expect(bad.errors.join('\n')).toMatch(/network\.prefix/);
  });
});
