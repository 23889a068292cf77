// Why: each output mode draws the same progress events as promised: live line on a TTY, plain
// lines in logs, quiet, verbose, JSON lines; colour only without NO_COLOR.
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { bar, chooseMode, colorEnabled, createOutput } from '../../../src/cli/output.js';
import { formatBytes } from '../../../src/io/size.js';
import type { ProgressEvent } from '../../../src/progress.js';

class Sink extends Writable {
  text = '';
  isTTY?: boolean;
  columns = 100;
  constructor(tty = false) {
    super();
    if (tty) this.isTTY = true;
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const EVENTS: ProgressEvent[] = [
  { step: 'read', kind: 'start', message: 'reading the bootkit' },
  { step: 'read', kind: 'progress', done: 0, total: 100 },
  { step: 'read', kind: 'progress', done: 55, total: 100 },
  { step: 'read', kind: 'progress', done: 100, total: 100 },
  { step: 'read', kind: 'end' },
  { step: 'scan', kind: 'info', message: 'found 5 units' },
  { step: 'scan', kind: 'warn', message: 'no .sha256sum' },
];

function run(flags: Parameters<typeof createOutput>[0], tty: boolean, env: NodeJS.ProcessEnv = {}) {
  const err = new Sink(tty);
  const out = new Sink();
  let t = 0;
  const o = createOutput(flags, { err, out, env, now: () => (t += 1000) });
  for (const e of EVENTS) o.progress(e);
  o.result({ ok: true, output: '/x.iso' }, ['built /x.iso']);
  return { o, err: err.text, out: out.text };
}

describe('modes', () => {
  test('chosen from flags, then the terminal', () => {
    const tty = new Sink(true);
    const pipe = new Sink();
    expect(chooseMode({}, { err: tty, env: {} })).toBe('live');
    expect(chooseMode({}, { err: tty, env: { TERM: 'dumb' } })).toBe('plain');
    expect(chooseMode({}, { err: tty, env: { CI: 'true' } })).toBe('plain');
    expect(chooseMode({}, { err: pipe, env: {} })).toBe('plain');
    expect(chooseMode({ quiet: true }, { err: tty, env: {} })).toBe('quiet');
    expect(chooseMode({ verbose: true }, { err: tty, env: {} })).toBe('verbose');
    expect(chooseMode({ json: true, quiet: true }, { err: tty, env: {} })).toBe('json');
  });

  test('plain: whole lines, no progress, no escapes; result on stdout', () => {
    const r = run({}, false);
    expect(r.err).toBe('reading the bootkit\nreading the bootkit: done\nfound 5 units\nwarning: no .sha256sum\n');
    expect(r.out).toBe('built /x.iso\n');
  });

  test('quiet: only warnings and the result', () => {
    const r = run({ quiet: true }, true);
    expect(r.err).toBe('warning: no .sha256sum\n');
    expect(r.out).toBe('built /x.iso\n');
  });

  test('verbose: progress every 10% and durations', () => {
    const r = run({ verbose: true }, true);
    expect(r.err).toContain('read: 0% (0 B of 100 B)\nread: 50% (55 B of 100 B)\nread: 100% (100 B of 100 B)\n');
    expect(r.err).toMatch(/reading the bootkit: done \(\d+\.\d s\)/);
    expect(r.err).not.toContain('\x1b');
  });

  test('json: one event per line and a final result, nothing on stderr', () => {
    const r = run({ json: true }, true);
    expect(r.err).toBe('');
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(EVENTS.length + 1);
    expect(lines[2]).toMatchObject({ type: 'progress', step: 'read', kind: 'progress', done: 55, total: 100 });
    expect(lines.at(-1)).toMatchObject({ type: 'result', ok: true, output: '/x.iso' });
    expect(typeof lines[0]?.time).toBe('string');
  });

  test('live: a redrawn line with a bar, ticks when done, colour unless NO_COLOR', () => {
    const r = run({}, true);
    expect(r.err).toContain('\r\x1b[2K');
    expect(r.err).toMatch(/\[#+\.+\] +55%/);
    expect(r.err).toMatch(/✓.*reading the bootkit/);
    expect(r.err).toContain('\x1b[32m');
    const plain = run({}, true, { NO_COLOR: '1' });
    expect(plain.err).not.toContain('\x1b[32m');
    expect(plain.err).toContain('✓ reading the bootkit');
  });

  test('failure is a JSON object only in json mode', () => {
    const out = new Sink();
    createOutput({ json: true }, { err: new Sink(), out, env: {} }).failure({
      code: 'E_VALIDATION',
      exitCode: 2,
      message: 'bad',
      problems: ['a: b'],
    });
    expect(JSON.parse(out.text)).toMatchObject({ type: 'error', exitCode: 2, problems: ['a: b'] });
    const out2 = new Sink();
    createOutput({}, { err: new Sink(), out: out2, env: {} }).failure({ code: 'x', exitCode: 1, message: 'm' });
    expect(out2.text).toBe('');
  });
});

test('helpers', () => {
  expect(formatBytes(512)).toBe('512 B');
  expect(formatBytes(1536 * 1024)).toBe('1.5 MiB');
  expect(formatBytes(512 * 1024 ** 3)).toBe('512 GiB');
  expect(formatBytes(14.9 * 1024 ** 3)).toBe('14.9 GiB');
  expect(bar(1, 4, 8)).toBe('[##......]  25%  1 B / 4 B');
  expect(colorEnabled({ err: new Sink(true), env: { NO_COLOR: '' } })).toBe(true);
  expect(colorEnabled({ err: new Sink(false), env: { FORCE_COLOR: '1' } })).toBe(true);
  expect(colorEnabled({ err: new Sink(true), env: { NO_COLOR: 'yes' } })).toBe(false);
});

test('the live line never wraps: long messages are shortened, the numbers kept', () => {
  const err = new Sink(true);
  err.columns = 40;
  const o = createOutput({}, { err, out: new Sink(), env: { NO_COLOR: '1' }, now: () => 0 });
  o.progress({ step: 's', kind: 'progress', message: `writing ${'x'.repeat(100)}`, done: 5, total: 10 });
  const line = err.text.split('\r\x1b[2K').pop() ?? '';
  expect(line.length).toBeLessThanOrEqual(39);
  expect(line).toMatch(/^› writing.*… {2}\[#+\.+\] {2}50% {2}5 B \/ 10 B$/);
});
