// Why: runs xorriso for a plan, turning its progress lines on stderr into ProgressEvents, and,
// when asked (build --sha256), hashes the written image. (Piping the image through Node to hash it on the way was measured
// slower: 3.8 s against 1.6 s + 0.7 s for a 1 GiB image, which is read back from page cache.)
import { MissingToolError, ToolError } from '../errors.js';
import { spawnTool } from '../exec.js';
import { packageForTool } from '../host/tools.js';
import { sha256File } from '../io/hash.js';
import type { ProgressSink } from '../progress.js';
import { xorrisoArgs, type IsoPlan } from './plan.js';

const PROGRESS_RE = /UPDATE\s*:\s*([\d.]+)% done/;

/** Writes the ISO to plan.output; returns its sha256 when asked (it reads the whole image back). */
export async function writeIso(
  plan: IsoPlan,
  totalBytes: number,
  progress: ProgressSink,
  signal?: AbortSignal,
  hash = false,
): Promise<string | undefined> {
  progress({ step: 'write-iso', kind: 'start', message: `writing ISO with xorriso (${plan.volid})`, total: totalBytes });
  const args = xorrisoArgs(plan);
  const proc = spawnTool('xorriso', args, {
    env: { SOURCE_DATE_EPOCH: String(plan.epoch) },
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  const last: string[] = [];
  let pending = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split(/\r?\n/);
    pending = lines.pop() ?? '';
    for (const line of lines) {
      last.push(line);
      if (last.length > 20) last.shift();
      const m = PROGRESS_RE.exec(line);
      if (m) {
        progress({ step: 'write-iso', kind: 'progress', done: Math.round((Number(m[1]) / 100) * totalBytes), total: totalBytes });
      }
    }
  });
  try {
    await proc;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; signal?: string };
    if (e.code === 'ENOENT') throw new MissingToolError('xorriso', packageForTool('xorriso'));
    throw new ToolError(['xorriso', ...args].join(' '), e.exitCode, last.slice(-5).join(' | '), {
      cause: err,
      ...(e.signal ? { signal: e.signal } : {}),
    });
  }
  progress({ step: 'write-iso', kind: 'end', done: totalBytes, total: totalBytes });
  return hash ? sha256File(plan.output, undefined, signal) : undefined;
}
