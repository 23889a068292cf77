// Why: the wizard asks in order with the schema's own checks, keeps only the password hash, saves
// 0600 and builds; run once with scripted prompts and once for real through a tmux pseudo-terminal.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { verifyPassword } from '../../../src/answers/password.js';
import type { Answers } from '../../../src/answers/schema.js';
import { InterruptedError } from '../../../src/errors.js';
import type { Choice, Prompts } from '../../../src/cli/prompts.js';
import { runWizard } from '../../../src/cli/wizard.js';
import { projectRoot } from '../../../src/version.js';
import { ED25519 } from '../../unit/answers/helpers.js';

type Step = { ask: RegExp; answer: unknown; rejects?: unknown[] };

/** Prompts that must be asked in exactly this order; each text answer must pass the prompt's own check. */
function scripted(steps: Step[]): Prompts & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string): Step => {
    asked.push(message);
    const step = steps.shift();
    if (!step) throw new Error(`unexpected question: ${message}`);
    if (!step.ask.test(message)) throw new Error(`asked "${message}", expected ${String(step.ask)}`);
    return step;
  };
  const withValidate = (message: string, validate?: (v: string) => true | string, dflt?: string): string => {
    const step = next(message);
    for (const bad of step.rejects ?? []) {
      if (!validate || validate(String(bad)) === true) throw new Error(`"${message}" accepted ${String(bad)}`);
    }
    const value = step.answer === undefined ? (dflt ?? '') : String(step.answer);
    const ok = validate ? validate(value) : true;
    if (ok !== true) throw new Error(`"${message}" refused ${value}: ${ok}`);
    return value;
  };
  return {
    asked,
    text: async (m, o = {}) => withValidate(m, o.validate, o.default),
    secret: async (m, o = {}) => withValidate(m, o.validate),
    confirm: async (m, o = {}) => {
      const s = next(m);
      return s.answer === undefined ? (o.default ?? false) : Boolean(s.answer);
    },
    select: async <T>(m: string, choices: ReadonlyArray<Choice<T>>) => {
      const s = next(m);
      if (s.answer === undefined) return (choices[0] as Choice<T>).value;
      if (!choices.some((c) => c.value === s.answer)) throw new Error(`"${m}" has no choice ${String(s.answer)}`);
      return s.answer as T;
    },
    integer: async (m, o) => {
      const s = next(m);
      return s.answer === undefined ? o.default : Number(s.answer);
    },
    multi: async <T>(m: string) => {
      const s = next(m);
      return (s.answer ?? []) as T[];
    },
  };
}

function inputs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mi-wizard-'));
  writeFileSync(join(dir, 'emb_uos_x86_64_20260526.tar.gz'), 'bootkit');
  writeFileSync(join(dir, 'emt.raw.gz'), 'image');
  return dir;
}

const out = { info: () => {}, warn: () => {} };

describe('wizard with scripted prompts', () => {
  test('asks everything, validates each answer, saves 0600 with only the hash, then builds', async () => {
    const dir = inputs();
    const built: Array<{ answers: Answers; file: string }> = [];
    const p = scripted([
      { ask: /^Bootkit release/, answer: undefined, rejects: ['', 'missing.tar.gz'] },
      { ask: /^sha256 of the bootkit/, answer: '', rejects: ['abc'] },
      { ask: /^OS image/, answer: undefined },
      { ask: /^sha256 of the OS image/, answer: '' },
      { ask: /^ISO to write/, answer: 'out/../node.iso', rejects: ['no/such/dir/x.iso'] },
      { ask: /^User to create/, answer: 'ops', rejects: ['Root User', 'root'] },
      { ask: /^Password for ops/, answer: 'first try' },
      { ask: /^Password again/, answer: 'typo' },
      { ask: /^Password for ops/, answer: 'correct horse' },
      { ask: /^Password again/, answer: 'correct horse' },
      { ask: /^SSH public key/, answer: ED25519, rejects: ['ssh-rsa AAAA'] },
      { ask: /^Host name/, answer: 'node-7', rejects: ['bad host'] },
      { ask: /^Network/, answer: 'static' },
      { ask: /^Interface/, answer: 'enp1s0', rejects: ['a b'] },
      { ask: /^Address/, answer: '192.168.1.50', rejects: ['192.168.1.500'] },
      { ask: /^Prefix length/, answer: 24 },
      { ask: /^Gateway/, answer: '192.168.1.1' },
      { ask: /^DNS servers/, answer: '192.168.1.1, 1.1.1.1', rejects: ['1.1.1.1, dns.example'] },
      { ask: /^Does the node need a proxy/, answer: true },
      { ask: /^HTTP proxy URL/, answer: 'http://proxy:3128', rejects: ['proxy:3128'] },
      { ask: /^HTTPS proxy URL/, answer: undefined },
      { ask: /^No proxy for/, answer: undefined },
      { ask: /^NTP servers/, answer: 'pool.ntp.org' },
      { ask: /^What does the node run/, answer: 'container' },
      { ask: /^Allowed disk types/, answer: ['nvme'] },
      { ask: /^Smallest acceptable disk/, answer: 100 },
      { ask: /^Among the qualifying disks/, answer: 'largest' },
      { ask: /^May the installer overwrite/, answer: true },
      { ask: /^LVM volume group size/, answer: 20 },
      { ask: /^2 MiB hugepages/, answer: 512 },
      { ask: /^After a successful install/, answer: 'poweroff' },
      { ask: /^Serial console/, answer: 'none' },
      { ask: /^Add cloud-init extras/, answer: true },
      { ask: /^Units to enable/, answer: 'docker.service', rejects: ['bad unit!'] },
      { ask: /^Units to disable/, answer: '' },
      { ask: /^First-boot command 1/, answer: "echo 'hi' > /tmp/x" },
      { ask: /^First-boot command 2/, answer: '' },
      { ask: /^Change advanced settings/, answer: true },
      { ask: /^Provisioning units to mask/, answer: undefined },
      { ask: /^Extra kernel arguments/, answer: 'usbcore.autosuspend=-1', rejects: ['a"b'] },
      { ask: /^Size of the installer in-memory root/, answer: '2G', rejects: ['2 GB'] },
      { ask: /^Initramfs change/, answer: 'rewrite' },
      { ask: /^User-apps directory/, answer: '' },
      { ask: /^Save the answers as/, answer: 'site.yaml' },
      { ask: /^Ready/, answer: 'build' },
    ]);
    await runWizard({
      prompts: p,
      out,
      cwd: dir,
      env: { http_proxy: 'http://env-proxy:8080' },
      build: async (answers, file) => {
        built.push({ answers, file });
      },
    });
    const file = join(dir, 'site.yaml');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('correct horse');
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=/);
    const saved = parse(text) as { user: { passwordHash: string } };
    expect(verifyPassword('correct horse', saved.user.passwordHash)).toBe(true);
    expect(built).toHaveLength(1);
    const a = built[0]!.answers;
    expect(built[0]!.file).toBe(file);
    expect(a).toMatchObject({
      bootkit: { archive: join(dir, 'emb_uos_x86_64_20260526.tar.gz') },
      osImage: { path: join(dir, 'emt.raw.gz') },
      output: { path: join(dir, 'node.iso') },
      user: { name: 'ops', sshKeys: [ED25519] },
      hostname: 'node-7',
      network: { mode: 'static', interface: 'enp1s0', address: '192.168.1.50', prefix: 24, gateway: '192.168.1.1' },
      proxy: { http: 'http://proxy:3128', https: 'http://proxy:3128', noProxy: 'localhost,127.0.0.1' },
      ntp: { servers: ['pool.ntp.org'] },
      hostType: 'container',
      disk: { transport: ['nvme'], minGiB: 100, pick: 'largest', wipeExisting: true },
      lvm: { sizeGiB: 20 },
      hugepages: 512,
      afterInstall: 'poweroff',
      console: null,
      cloudInit: { services: { enable: ['docker.service'], disable: [] }, runcmd: ["echo 'hi' > /tmp/x"] },
      kernelArgs: ['usbcore.autosuspend=-1'],
      tmpfsSize: '2G',
      mode: 'rewrite',
    });
  });

  test('Ctrl-C at any prompt: InterruptedError and nothing written', async () => {
    const dir = inputs();
    const before = readdirSync(dir).sort();
    const p = scripted([{ ask: /^Bootkit release/, answer: undefined }]);
    p.text = (() => {
      let n = 0;
      return async (m: string, o: { default?: string } = {}) => {
        if (++n === 3) throw new InterruptedError('cancelled; nothing was written');
        return o.default ?? '';
      };
    })();
    p.secret = async () => '';
    await expect(runWizard({ prompts: p, out, cwd: dir, env: {}, build: async () => {} })).rejects.toBeInstanceOf(
      InterruptedError,
    );
    expect(readdirSync(dir).sort()).toEqual(before);
  });
});

// ---- the real thing, through a pseudo-terminal ----

const MAIN = join(projectRoot, 'dist/cli/main.js');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

class Tmux {
  readonly socket = `mi-wizard-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  constructor(readonly cwd: string) {}
  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }
  start(command: string): void {
    this.tmux('new-session', '-d', '-s', 'w', '-x', '160', '-y', '60', '-c', this.cwd, command);
  }
  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', 'w', '-S', '-300');
  }
  async waitFor(re: RegExp, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (re.test(this.screen())) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${String(re)}; screen:\n${this.screen()}`);
  }
  type(text: string): void {
    if (text) this.tmux('send-keys', '-t', 'w', '-l', text);
  }
  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', 'w', ...keys);
  }
  /** Waits for a question, types the answer and presses Enter. */
  async answer(question: RegExp, text = '', ...keys: string[]): Promise<void> {
    await this.waitFor(question);
    this.type(text);
    this.keys(...keys, 'Enter');
  }
  kill(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}

async function exitCodeOf(exitFile: string): Promise<number> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    if (existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '') {
      return Number(readFileSync(exitFile, 'utf8').trim());
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('make-iso did not exit');
}

describe.skipIf(!hasTmux)('wizard in a real terminal (tmux)', () => {
  function session(): { dir: string; t: Tmux; exitFile: string } {
    if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
    const dir = inputs();
    const exitFile = join(dir, '..', `${dir.split('/').pop()}.exit`);
    const t = new Tmux(dir);
    // HOME without ssh keys, no proxies in the environment, exit code kept for the test
    t.start(
      `env -i PATH="${process.env.PATH ?? ''}" HOME="${dir}" TERM=xterm-256color NO_COLOR=1 ` +
        `"${process.execPath}" "${MAIN}"; echo $? > "${exitFile}"; sleep 30`,
    );
    return { dir, t, exitFile };
  }

  test('typed answers: the answers file is written 0600 with a hash, not the password', async () => {
    const { dir, t, exitFile } = session();
    try {
      await t.answer(/Bootkit release \(tar\.gz\):/);
      await t.answer(/sha256 of the bootkit release/);
      await t.answer(/OS image to install/);
      await t.answer(/sha256 of the OS image/);
      await t.answer(/ISO to write:/);
      await t.answer(/User to create on the node:/, 'ops');
      await t.answer(/Password for ops/, 's3cret-Pass');
      await t.answer(/Password again:/, 's3cret-Pass');
      await t.answer(/SSH public key/);
      await t.answer(/Host name/, 'node-7');
      await t.answer(/Network:/);
      await t.answer(/Interface \(empty/);
      await t.answer(/DNS servers/);
      await t.answer(/Does the node need a proxy\?/);
      await t.answer(/NTP servers/);
      await t.answer(/What does the node run\?/);
      await t.answer(/k3s air-gap bundle/);
      await t.answer(/Allowed disk types/);
      await t.answer(/Smallest acceptable disk/);
      await t.answer(/install on the/);
      await t.answer(/May the installer overwrite/);
      await t.answer(/LVM volume group size/);
      await t.answer(/hugepages to reserve/);
      await t.answer(/After a successful install:/, '', 'Down');
      await t.answer(/Serial console:/);
      await t.answer(/Add cloud-init extras/);
      await t.answer(/Change advanced settings/);
      await t.waitFor(/Summary:/);
      await t.answer(/Save the answers as:/);
      await t.answer(/Ready:/, '', 'Down');
      expect(await exitCodeOf(exitFile)).toBe(0);
      const file = join(dir, 'answers.yaml');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('s3cret-Pass');
      const saved = parse(text) as {
        user: { name: string; passwordHash: string };
        hostname: string;
        afterInstall: string;
      };
      expect(saved.user.name).toBe('ops');
      expect(saved.hostname).toBe('node-7');
      expect(saved.afterInstall).toBe('poweroff');
      expect(verifyPassword('s3cret-Pass', saved.user.passwordHash)).toBe(true);
      expect(t.screen()).not.toContain('s3cret-Pass');
    } finally {
      t.kill();
    }
  });

  test('hash-password on a terminal: asks twice without echo, prints only the hash', async () => {
    const dir = inputs();
    const outFile = join(dir, 'hash.txt');
    const exitFile = join(dir, 'exit');
    const t = new Tmux(dir);
    t.start(`"${process.execPath}" "${MAIN}" hash-password > "${outFile}"; echo $? > "${exitFile}"; sleep 30`);
    try {
      await t.answer(/Password:/, 'pa$$ "word"');
      await t.answer(/Password again:/, 'pa$$ "word"');
      expect(await exitCodeOf(exitFile)).toBe(0);
      const hash = readFileSync(outFile, 'utf8');
      expect(hash).toMatch(/^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}\n$/);
      expect(verifyPassword('pa$$ "word"', hash.trim())).toBe(true);
      expect(t.screen()).not.toContain('"word"');
    } finally {
      t.kill();
    }
  });

  test('Ctrl-C at a prompt exits 130 and leaves nothing behind', async () => {
    const { dir, t, exitFile } = session();
    const before = readdirSync(dir).sort();
    try {
      await t.answer(/Bootkit release \(tar\.gz\):/);
      await t.answer(/sha256 of the bootkit release/);
      await t.answer(/OS image to install/);
      await t.answer(/sha256 of the OS image/);
      await t.answer(/ISO to write:/);
      await t.answer(/User to create on the node:/, 'ops');
      await t.waitFor(/Password for ops/);
      t.type('half-typed');
      t.keys('C-c');
      expect(await exitCodeOf(exitFile)).toBe(130);
      expect(t.screen()).toMatch(/cancelled; nothing was written/);
      expect(t.screen()).not.toMatch(/\s+at .*:\d+:\d+/);
      expect(readdirSync(dir).sort()).toEqual(before);
    } finally {
      t.kill();
    }
  });
});
