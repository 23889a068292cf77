// Why: a CSV node list is what a site exports from its spreadsheet; every cell must become the
// type the answers schema wants, and every problem must name the row and the column it is in.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersSchema } from '../../../src/answers/schema.js';
import { keysAt, parseAnswers } from '../../../src/answers/load.js';
import { CSV_COLUMNS, parseNodesCsv } from '../../../src/answers/nodes-csv.js';
import { loadNodeList, nodeOverrides, nodeProblem } from '../../../src/answers/nodes.js';
import { ValidationError } from '../../../src/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mi-nodes-csv-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA a@site';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB b@site';

describe('CSV node list', () => {
  it('types cells as the schema wants: numbers, booleans, lists; quoted commas; a BOM; CRLF', () => {
    const text =
      '\uFEFFname,hostname,network.address,network.prefix,network.dns,user.sshKeys,disk.model,disk.rotational,disk.minGiB\r\n' +
      `a,edge-a,10.0.0.11,24,"10.0.0.1, 10.0.0.2;10.0.0.3","${KEY_A};${KEY_B}","Samsung SSD 980;WD Blue",false,64\r\n` +
      ',edge-b,10.0.0.12,16,10.0.0.1 10.0.0.2,,,yes,\r\n';
    const r = parseNodesCsv(text);
    expect(r.problems).toEqual([]);
    expect(r.nodes).toEqual([
      {
        row: 2,
        columns: [
          'name',
          'hostname',
          'network.address',
          'network.prefix',
          'network.dns',
          'user.sshKeys',
          'disk.model',
          'disk.rotational',
          'disk.minGiB',
        ],
        entry: {
          name: 'a',
          hostname: 'edge-a',
          network: { address: '10.0.0.11', prefix: 24, dns: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] },
          user: { sshKeys: [KEY_A, KEY_B] },
          disk: { model: ['Samsung SSD 980', 'WD Blue'], rotational: false, minGiB: 64 },
        },
      },
      {
        row: 3,
        columns: ['hostname', 'network.address', 'network.prefix', 'network.dns', 'disk.rotational'],
        entry: {
          hostname: 'edge-b',
          network: { address: '10.0.0.12', prefix: 16, dns: ['10.0.0.1', '10.0.0.2'] },
          disk: { rotational: true },
        },
      },
    ]);
  });

  it('a quoted cell keeps its comma; comment lines and blank lines are skipped', () => {
    const r = parseNodesCsv('# site 7\nhostname,disk.model\n\nedge-1,"Model, Inc X1"\n');
    expect(r.problems).toEqual([]);
    expect(r.nodes).toEqual([
      {
        row: 4,
        columns: ['hostname', 'disk.model'],
        entry: { hostname: 'edge-1', disk: { model: ['Model, Inc X1'] } },
      },
    ]);
  });

  it('bad cells: one problem per cell, naming row and column, all at once', () => {
    const r = parseNodesCsv('hostname,network.prefix,disk.wipeExisting\nedge-1,24x,maybe\n,8,true\n');
    expect(r.problems).toEqual([
      'row 2, column network.prefix: "24x" is not a whole number',
      'row 2, column disk.wipeExisting: "maybe" is not true or false',
      'row 3, column hostname: is empty (every node needs one)',
    ]);
  });

  it('bad headers: unknown (with a suggestion), twice, unnamed, no hostname', () => {
    expect(parseNodesCsv('hostname,network.adress\na,b\n').problems).toEqual([
      'row 1, column network.adress: not a key a node may set; did you mean network.address?',
    ]);
    expect(parseNodesCsv('hostname,hostname\na,b\n').problems).toEqual(['row 1, column hostname: named twice']);
    expect(parseNodesCsv('hostname,\na,b\n').problems).toEqual(['row 1, column 2: the column has no name']);
    expect(parseNodesCsv('name,network.address\na,b\n').problems).toEqual([
      'row 1: no hostname column (every node needs one)',
    ]);
    expect(parseNodesCsv('').problems).toEqual(['the file is empty: it needs a header row and one row per node']);
    expect(parseNodesCsv('hostname\n').problems).toEqual(['no node rows after the header']);
  });

  it('a row with too many cells or an unclosed quote is a CSV error naming its row', () => {
    const [wide] = parseNodesCsv('hostname,name\na,b\nc,d,e\n').problems;
    expect(wide).toMatch(/^row 3: /);
    expect(wide).not.toContain('\n');
    const [open] = parseNodesCsv('hostname\n"edge-1\n').problems;
    expect(open).toMatch(/^row \d+: .*quote/i);
  });

  it('every column is a key of the answers schema (the YAML form and the docs say the same keys)', () => {
    for (const col of Object.keys(CSV_COLUMNS)) {
      if (col === 'name') continue;
      const parts = col.split('.');
      expect(keysAt(answersSchema, parts.slice(0, -1)), col).toContain(parts.at(-1));
    }
  });
});

describe('CSV node list through loadNodeList and the merged answers', () => {
  const base = [
    'bootkit: {archive: /x/rel.tar.gz}',
    'osImage: {path: /x/os.raw.gz}',
    'output: {path: /x/out.iso}',
    `user: {name: ops, sshKeys: ["${KEY_A}"]}`,
    'network: {mode: static, prefix: 24, gateway: 10.0.0.1, address: 10.0.0.2}',
    'disk: {model: ["Base*"], minGiB: 32}',
  ].join('\n');

  it('a node replaces the ssh keys, merges disk rules key by key', async () => {
    const f = join(dir, 'nodes.csv');
    await writeFile(f, `hostname,user.sshKeys,disk.serial\nedge-1,${KEY_B},S1*\n`);
    const [n] = await loadNodeList(f);
    expect(n?.csv).toEqual({ file: f, row: 2, columns: ['hostname', 'user.sshKeys', 'disk.serial'] });
    const r = await parseAnswers(base, dir, { checkFiles: false, overrides: nodeOverrides(n!.entry) });
    expect(r.errors).toEqual([]);
    expect(r.answers?.user.sshKeys).toEqual([KEY_B]);
    expect(r.answers?.disk).toMatchObject({ model: ['Base*'], minGiB: 32, serial: ['S1*'] });
  });

  it("a merged-answers problem with a row's own key names the file, row and column", async () => {
    const f = join(dir, 'site.csv');
    await writeFile(f, 'hostname,network.address\nedge-1,10.0.0.300\n');
    const [n] = await loadNodeList(f);
    const r = await parseAnswers(base, dir, { checkFiles: false, overrides: nodeOverrides(n!.entry) });
    expect(r.errors.length).toBeGreaterThan(0);
    const lines = r.errors.map((e) => nodeProblem(n!, e));
    expect(lines[0]).toMatch(/^site\.csv row 2, column network\.address: /);
    expect(nodeProblem(n!, 'hugepages: must be at most 1')).toBe(
      'node edge-1 (site.csv row 2): hugepages: must be at most 1',
    );
  });

  it('schema problems of a row (bad host name, names used twice) name the row and column', async () => {
    const f = join(dir, 'nodes.csv');
    await writeFile(f, 'name,hostname\nx,edge-1\nx,edge-2\ny,not a host\n');
    const err = await loadNodeList(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const problems = (err as ValidationError).problems;
    expect(problems).toContain('row 3: node name x is used twice');
    expect(problems.some((p) => p.startsWith('row 4, column hostname: '))).toBe(true);
    expect((err as ValidationError).message).toContain(f);
  });

  it('bad cells reach the user as a ValidationError naming the file', async () => {
    const f = join(dir, 'nodes.csv');
    await writeFile(f, 'hostname,network.prefix\nedge-1,abc\n');
    const err = await loadNodeList(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toBe(
      `${f} has 1 problem:\n  row 2, column network.prefix: "abc" is not a whole number`,
    );
    expect((err as ValidationError).exitCode).toBe(2);
  });
});

describe('nodeProblem', () => {
  it("drops the base file's line from a problem with a key the node set, keeps it otherwise", () => {
    const csv = {
      entry: { hostname: 'edge-1' },
      csv: { file: '/x/n.csv', row: 3, columns: ['hostname', 'network.dns'] },
    };
    expect(nodeProblem(csv, 'network.dns.1: must be an IP address (line 7)')).toBe(
      'n.csv row 3, column network.dns: must be an IP address',
    );
    expect(nodeProblem(csv, 'network.gateway: is required (line 5)')).toBe(
      'node edge-1 (n.csv row 3): network.gateway: is required (line 5)',
    );
    const yaml = { entry: { hostname: 'edge-2', network: { prefix: 99 } } };
    expect(nodeProblem(yaml, 'network.prefix: must be at most 32 (line 4)')).toBe(
      'node edge-2: network.prefix: must be at most 32',
    );
    expect(nodeProblem(yaml, 'hugepages: must be at most 1 (line 9)')).toBe(
      'node edge-2: hugepages: must be at most 1 (line 9)',
    );
  });
});
