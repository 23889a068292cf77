// Why: `make-iso import-config` must carry every config-file key it knows into answers that
// validate, never copy a plain password, compute huge_page_config like bash's $(( )), and name
// each key it leaves behind. Sample files in ./fixtures follow the upstream format (see each).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import {
  convertConfig,
  evalShellArithmetic,
  importConfigText,
  parseConfigFile,
  prefixOf,
} from '../../../src/answers/import-config.js';
import { KNOWN_ELSEWHERE } from '../../../src/answers/legacy-keys.js';
import { parseAnswers } from '../../../src/answers/load.js';
import { ED25519, HASH } from './helpers.js';

const fixture = (name: string): string => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const opts = { source: 'config-file', modeline: '# yaml-language-server: $schema=x.json', baseDir: '/tmp' };

describe('huge_page_config is computed as bash $(( )) does', () => {
  test.each([
    ['12 * 1024', 12288],
    ['2048', 2048],
    ['(1 + 2) * 3', 9],
    ['7 / 2', 3],
    ['-7 / 2 + 10', 7],
    ['2 ** 10', 1024],
    ['-2 ** 2', 4],
    ['010', 8],
    ['0x10', 16],
    ['10 % 4', 2],
  ])('%s = %i', (expr, value) => {
    expect(evalShellArithmetic(expr)).toBe(value);
  });
  test.each([
    ['$(reboot)', /not supported/],
    ['PAGES * 2', /shell variable PAGES/],
    ['1 / 0', /division by zero/],
    ['(1 + 2', /not closed/],
    ['09', /not an octal/],
    ['', /empty/],
    ['1 2', /unexpected "2"/],
  ])('%s is refused', (expr, why) => {
    expect(() => evalShellArithmetic(expr)).toThrow(why);
  });
});

describe('subnet_mask', () => {
  test.each([
    ['24', 24],
    ['255.255.255.0', 24],
    ['255.255.0.0', 16],
    ['255.255.255.255', 32],
    ['255.0.255.0', undefined],
    ['abc', undefined],
  ])('%s -> %s', (mask, prefix) => {
    expect(prefixOf(mask)).toBe(prefix);
  });
});

describe('parseConfigFile', () => {
  test('reads quoted, unquoted and commented values without running anything', () => {
    const p = parseConfigFile('a="x y"\nb=plain # comment\nc=\'$(reboot)\'\nexport d="q\\"q"\nnot a line\ne="open\n');
    expect(p.entries.map((e) => [e.key, e.value, e.line])).toEqual([
      ['a', 'x y', 1],
      ['b', 'plain', 2],
      ['c', '$(reboot)', 3],
      ['d', 'q"q', 4],
    ]);
    expect(p.notes).toEqual([
      'line 5: not a key=value line; skipped',
      'e (line 6): the quote is not closed on this line; skipped',
    ]);
    expect(p.yaml).toBe('');
  });
  test('the YAML part starts at the marker line, or at a top-level cloud-init key without it', () => {
    expect(parseConfigFile('a=1\n# --- Custom cloud-init Config file ---\nruncmd: [x]\n').yamlLine).toBe(2);
    expect(parseConfigFile('a=1\nruncmd:\n  - x\n').yamlLine).toBe(2);
  });
});

describe('import of a filled config-file', () => {
  test('carries every known key into answers that validate; says what it left behind', async () => {
    const r = await importConfigText(fixture('config-file-full'), opts);
    expect(r.errors).toEqual([]);
    const v = await parseAnswers(r.text ?? '', '/tmp', { checkFiles: false });
    expect(v.errors).toEqual([]);
    const a = v.answers!;
    expect(a.user).toEqual({ name: 'edgeuser', sshKeys: [ED25519] });
    expect(a.proxy).toEqual({
      http: 'http://proxy.example.com:3128',
      https: 'http://proxy.example.com:3129',
      noProxy: 'localhost,127.0.0.1,.example.com,10.0.0.0/8',
    });
    expect(a.hostType).toBe('container');
    expect(a.network).toEqual({
      mode: 'static',
      address: '192.168.10.24',
      prefix: 24,
      gateway: '192.168.10.1',
      dns: ['192.168.10.1', '1.1.1.1'],
    });
    expect(a.lvm.sizeGiB).toBe(20);
    expect(a.hugepages).toBe(12288);
    expect(a.ntp.servers).toEqual(['ntp1.example.com', '10.0.0.5']);
    expect(a.cloudInit.services).toEqual({ enable: ['docker', 'my-app.service'], disable: ['apache2'] });
    expect(a.cloudInit.writeFiles).toEqual([
      { path: '/etc/environment', append: true, content: 'MY_VAR=1\n', permissions: '0644' },
      { path: '/etc/motd', permissions: '0644', owner: 'root:root', content: 'Welcome\n', append: false },
    ]);
    expect(a.cloudInit.runcmd).toEqual(['source /etc/environment', ['touch', '/tmp/marker']]);
    // the plain password is nowhere in the output
    expect(r.text).not.toContain('hunter2');
    expect(r.notes).toEqual([
      expect.stringMatching(
        /^passwd \(line 19\): not carried over: a plain-text password is never copied; run `make-iso hash-password`/,
      ),
      expect.stringMatching(
        /^static_ip \(line 25\): carried over as network.mode static: upstream used it only when DHCP/,
      ),
      expect.stringMatching(
        /^reporting_group_id \(line 40\): not carried over: make-iso does not set up edge data collection/,
      ),
      expect.stringMatching(/^write_files\[2\] \(line 59\): not carried over: encoding gzip/),
      expect.stringMatching(/^packages \(line 65\): not carried over: make-iso's cloud-init extras are/),
      expect.stringMatching(/^bootkit.archive: not in a config-file/),
      expect.stringMatching(/^osImage.path: not in a config-file/),
    ]);
  });

  test('starts with the same header as make-iso init and names the source', async () => {
    const r = await importConfigText(fixture('config-file-full'), { ...opts, source: 'old/config-file' });
    const lines = (r.text ?? '').split('\n');
    expect(lines[0]).toBe(opts.modeline);
    expect(lines[1]).toBe('# make-iso answers: everything needed to build an unattended installer ISO.');
    expect(lines.slice(0, 8).join('\n')).toContain('# Imported by make-iso import-config from old/config-file.');
  });

  test('--bootkit, --os-image and --password-hash fill what a config-file lacks', async () => {
    const r = await importConfigText(fixture('config-file-full'), {
      ...opts,
      bootkit: './boot.tar.gz',
      osImage: './emt.raw.gz',
      passwordHash: HASH,
    });
    const a = parse(r.text ?? '') as { bootkit: unknown; osImage: unknown; user: { passwordHash: string } };
    expect(a.bootkit).toEqual({ archive: './boot.tar.gz' });
    expect(a.osImage).toEqual({ path: './emt.raw.gz' });
    expect(a.user.passwordHash).toBe(HASH);
    expect(r.notes.some((n) => n.startsWith('bootkit.archive') || n.startsWith('osImage.path'))).toBe(false);
  });
});

describe('import of a dv-style config-file', () => {
  test('a placeholder ssh_key and an incomplete static address are left behind, each with its reason', () => {
    const { answers, notes } = convertConfig(parseConfigFile(fixture('config-file-dv')));
    expect(answers.user).toEqual({ name: 'user' });
    expect(answers.network).toEqual({ dns: ['8.8.8.8', '4.4.4.4'] });
    expect(answers.hugepages).toBe(2064);
    expect(answers.proxy).toEqual({
      http: 'http://proxy.example.org:911',
      https: 'http://proxy.example.org:912',
      noProxy: 'localhost,*.example.org,192.168.0.0/16,/var/run/docker.sock',
    });
    expect(answers.cloudInit).toEqual({
      writeFiles: [{ path: '/etc/environment', append: true, content: 'export GPU_ID=1\n' }],
      runcmd: ['timedatectl set-timezone Asia/Kolkata'],
    });
    expect(notes).toEqual([
      expect.stringMatching(/^ssh_key \(line 10\): not carried over: it must be one public key line/),
      expect.stringMatching(/^HTTPS_PROXY \(line 8\): not carried over: it differs from https_proxy \(line 5\)/),
      'static_ip (line 13): not carried over: a static address needs all three of static_ip, subnet_mask, default_gate_way: default_gate_way is missing; the node keeps DHCP',
      'deploy_envmt (line 20): not carried over: make-iso installs the same way on VMs and real hardware; nothing to set',
    ]);
  });

  test('with no usable login, nothing validates and the reason names the way out', async () => {
    const r = await importConfigText(fixture('config-file-dv'), opts);
    expect(r.text).toBeUndefined();
    expect(r.errors).toEqual([expect.stringMatching(/^user: give user.passwordHash.*pass --password-hash/)]);
  });
});

test('an unfilled config-file gives no answers: user.name is required', async () => {
  const r = await importConfigText(fixture('config-file-template'), opts);
  expect(r.text).toBeUndefined();
  expect(r.errors[0]).toMatch(/^user.name: is required.*no usable user_name/);
  // empty values are not "left behind": only the two placeholders are noted
  expect(r.notes).toHaveLength(2);
});

test('every shell-part key the importer reads has a home in the legacy key table or is knowingly homeless', () => {
  const text = fixture('config-file-full') + fixture('config-file-dv');
  const keys = new Set(parseConfigFile(text).entries.map((e) => e.key.toLowerCase()));
  const homeless = [
    'reporting_group_id',
    'reporting_endpoint',
    'reporting_token',
    'reporting_disabled',
    'deploy_envmt',
  ];
  for (const k of keys) expect(k in KNOWN_ELSEWHERE || homeless.includes(k), k).toBe(true);
});

test('a cloud-init part with YAML aliases is left behind whole, never half-read', () => {
  const text = 'user_name="edge"\n# Custom cloud-init Config file\nx: &cmd reboot\nruncmd:\n  - *cmd\n';
  const { answers, notes } = convertConfig(parseConfigFile(text));
  expect(answers.cloudInit).toBeUndefined();
  expect(notes).toEqual([
    'cloud-init part (line 2): YAML aliases (*name) and tags are not supported; write the values out; none of it carried over',
  ]);
});

test('a cloud-init part that is not YAML is named, and the shell part still carries over', () => {
  const { answers, notes } = convertConfig(parseConfigFile('user_name="edge"\nruncmd:\n\t- x\n  y: [\n'));
  expect(answers.user).toEqual({ name: 'edge' });
  expect(notes).toEqual([expect.stringMatching(/^cloud-init part \(line 2\): not YAML/)]);
});
