// Why: runs xorriso for a plan with the image on its stdout, so the ISO is hashed while it is
// written (no second read of a multi-GB file) and xorriso's progress lines on stderr become
// ProgressEvents.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MissingToolError, ToolError } from '../errors.js';
import { spawnTool } from '../exec.js';
import { packageForTool } from '../host/tools.js';
import type { ProgressSink } from '../progress.js';
import { xorrisoArgs, type IsoPlan } from './plan.js';

const PROGRESS_RE = /UPDATE\s*:\s*([\d.]+)% done/;

/** Writes the ISO to plan.output; returns its sha256. */
export async function writeIso(
  plan: IsoPlan,
  totalBytes: number,
  progress: ProgressSink,
  signal?: AbortSignal,
): Promise<string> {
  progress({ step: 'write-iso', kind: 'start', message: `writing ISO with xorriso (${plan.volid})`, total: totalBytes });
  const args = xorrisoArgs({ ...plan, output: '-' });
  const proc = spawnTool('xorriso', args, {
    env: { SOURCE_DATE_EPOCH: String(plan.epoch) },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    encoding: 'buffer',
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
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await Promise.all([pipeline(proc.stdout!, hashing, createWriteStream(plan.output)), proc]);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'ENOENT') throw new MissingToolError('xorriso', packageForTool('xorriso'));
    throw new ToolError(['xorriso', ...args].join(' '), e.exitCode, last.slice(-5).join(' | '), { cause: err });
  }
  progress({ step: 'write-iso', kind: 'end', done: totalBytes, total: totalBytes });
  return hash.digest('hex');
}
