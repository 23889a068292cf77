// Why: the one place that draws library progress: a live line on a terminal, plain lines in logs
// (or with --quiet/--verbose), JSON-lines events with --json; colour only when NO_COLOR is unset.
import { formatBytes } from '../io/size.js';
import type { ProgressEvent, ProgressSink } from '../progress.js';

export type OutputMode = 'live' | 'plain' | 'quiet' | 'verbose' | 'json';

export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export interface OutputEnv {
  /** Where human progress goes (stderr). */
  err: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Where JSON events and results go (stdout). */
  out: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  now?: () => number;
}

/** Picks the mode: flags first, then a live display only on a real, non-dumb terminal. */
export function chooseMode(flags: OutputFlags, io: Pick<OutputEnv, 'err' | 'env'>): OutputMode {
  if (flags.json) return 'json';
  if (flags.quiet) return 'quiet';
  if (flags.verbose) return 'verbose';
  if (io.err.isTTY && io.env.TERM !== 'dumb' && !io.env.CI) return 'live';
  return 'plain';
}

/** Colour helpers that turn into no-ops under NO_COLOR (any value) or when not drawing live. */
export function palette(
  enabled: boolean,
): Record<'bold' | 'dim' | 'green' | 'yellow' | 'red' | 'cyan', (s: string) => string> {
  const wrap =
    (open: number, close: number) =>
    (s: string): string =>
      enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    red: wrap(31, 39),
    cyan: wrap(36, 39),
  };
}

export function colorEnabled(io: Pick<OutputEnv, 'err' | 'env'>): boolean {
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  if (io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== '0') return true;
  return Boolean(io.err.isTTY) && io.env.TERM !== 'dumb';
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** "[#####.....]  52%  1.2 GiB / 2.3 GiB" */
export function bar(done: number, total: number, width = 24): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}%  ${formatBytes(done)} / ${formatBytes(total)}`;
}

export interface Output {
  readonly mode: OutputMode;
  /** The sink handed to library code. */
  progress: ProgressSink;
  /** A human line (suppressed in json and quiet modes). */
  info(line: string): void;
  warn(line: string): void;
  /** The final result: a JSON object in json mode, else the given human lines on stdout. */
  result(data: Record<string, unknown>, human: readonly string[]): void;
  /** A failure as a JSON object (json mode only; main.ts prints the human message). */
  failure(data: { code: string; exitCode: number; message: string; problems?: string[] }): void;
  /** Clears any live line (before other output, prompts or exit). */
  clear(): void;
}

export function createOutput(flags: OutputFlags, io: OutputEnv): Output {
  const mode = chooseMode(flags, io);
  const c = palette(mode === 'live' && colorEnabled(io));
  const now = io.now ?? Date.now;
  const started = new Map<string, number>();
  const lastPlainPct = new Map<string, number>();
  const startMessage = new Map<string, string>();
  let liveShown = false;
  let lastDraw = Number.NEGATIVE_INFINITY;

  const write = (line: string): void => {
    clear();
    io.err.write(`${line}\n`);
  };
  function clear(): void {
    if (liveShown) {
      io.err.write('\r\x1b[2K');
      liveShown = false;
    }
  }
  const json = (obj: Record<string, unknown>): void => {
    io.out.write(`${JSON.stringify({ ...obj, time: new Date(now()).toISOString() })}\n`);
  };

  const progress: ProgressSink = (e: ProgressEvent) => {
    if (mode === 'json') {
      json({ type: 'progress', ...e });
      return;
    }
    if (e.kind === 'warn') {
      write(`${c.yellow('warning:')} ${e.message ?? e.step}`);
      return;
    }
    if (mode === 'quiet') return;
    if (e.kind === 'start') {
      started.set(e.step, now());
      if (e.message) startMessage.set(e.step, e.message);
    }
    if (mode === 'live') {
      if (e.kind === 'progress') {
        if (now() - lastDraw < 100 && !(e.total !== undefined && e.done === e.total)) return;
        lastDraw = now();
        const width = Math.max(20, (io.err.columns ?? 80) - 1);
        const barWidth = Math.max(8, Math.min(24, Math.floor(width / 5)));
        const detail = e.total ? bar(e.done ?? 0, e.total, barWidth) : e.done !== undefined ? formatBytes(e.done) : '';
        // one terminal line, never wrapped (a wrapped line cannot be redrawn with \r): shorten the text
        const room = width - 2 - detail.length - 2;
        let msg = e.message ?? e.step;
        if (msg.length > room) msg = room >= 5 ? `${msg.slice(0, room - 1)}…` : '';
        const text = msg ? `${msg}  ${detail}` : detail;
        io.err.write(`\r\x1b[2K${c.cyan('›')} ${text}`);
        liveShown = true;
        return;
      }
      if (e.kind === 'start') {
        clear();
        io.err.write(`${c.cyan('›')} ${e.message ?? e.step}`);
        liveShown = true;
        return;
      }
      if (e.kind === 'end') {
        const t0 = started.get(e.step);
        const what = e.message ?? startMessage.get(e.step) ?? e.step;
        write(`${c.green('✓')} ${what}${t0 !== undefined ? c.dim(` (${formatDuration(now() - t0)})`) : ''}`);
        return;
      }
      write(`  ${e.message ?? e.step}`);
      return;
    }
    // plain and verbose: whole lines; progress only in verbose, every 10%
    if (e.kind === 'progress') {
      if (mode !== 'verbose' || !e.total) return;
      const pct = Math.floor(((e.done ?? 0) / e.total) * 10) * 10;
      if ((lastPlainPct.get(e.step) ?? -1) >= pct) return;
      lastPlainPct.set(e.step, pct);
      write(`${e.step}: ${pct}% (${formatBytes(e.done ?? 0)} of ${formatBytes(e.total)})`);
      return;
    }
    if (e.kind === 'end') {
      const t0 = started.get(e.step);
      const what = e.message ?? `${startMessage.get(e.step) ?? e.step}: done`;
      write(`${what}${t0 !== undefined && mode === 'verbose' ? ` (${formatDuration(now() - t0)})` : ''}`);
      return;
    }
    if (e.kind === 'start' && mode === 'plain' && !e.message) return;
    if (e.message) write(e.message);
  };

  return {
    mode,
    progress,
    info: (line) => {
      if (mode === 'json' || mode === 'quiet') return;
      write(line);
    },
    warn: (line) => progress({ step: 'warning', kind: 'warn', message: line }),
    result: (data, human) => {
      clear();
      if (mode === 'json') json({ type: 'result', ...data });
      else for (const line of human) io.out.write(`${line}\n`);
    },
    failure: (data) => {
      clear();
      if (mode === 'json') json({ type: 'error', ...data });
    },
    clear,
  };
}

/** The output of the running process; commands with --json/--quiet/--verbose replace it. */
let current: Output | undefined;

export function setProcessOutput(flags: OutputFlags): Output {
  current = createOutput(flags, { err: process.stderr, out: process.stdout, env: process.env });
  return current;
}

export function processOutput(): Output {
  return current ?? setProcessOutput({});
}
