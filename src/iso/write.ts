// Why: runs xorriso for a plan, turning its progress lines into ProgressEvents.
import { runWithLines } from '../exec.js';
import type { ProgressSink } from '../progress.js';
import { xorrisoArgs, type IsoPlan } from './plan.js';

const PROGRESS_RE = /UPDATE\s*:\s*([\d.]+)% done/;

export async function writeIso(plan: IsoPlan, totalBytes: number, progress: ProgressSink, signal?: AbortSignal) {
  progress({ step: 'write-iso', kind: 'start', message: `writing ISO with xorriso (${plan.volid})`, total: totalBytes });
  await runWithLines(
    'xorriso',
    xorrisoArgs(plan),
    (line) => {
      const m = PROGRESS_RE.exec(line);
      if (m) progress({ step: 'write-iso', kind: 'progress', done: Math.round((Number(m[1]) / 100) * totalBytes), total: totalBytes });
    },
    { env: { SOURCE_DATE_EPOCH: String(plan.epoch) }, cancelSignal: signal },
  );
  progress({ step: 'write-iso', kind: 'end', done: totalBytes, total: totalBytes });
}
