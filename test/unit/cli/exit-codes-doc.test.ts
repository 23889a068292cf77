// Why: the exit-code tables in docs/cli.md and docs/robustness.md were stale once (exit 1 "prints
// a stack trace", no 5, 129, 141, 143); each must list exactly the codes of src/errors.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { SIGNAL_EXIT_CODES } from '../../../src/cli/interrupt.js';
import { projectRoot } from '../../../src/version.js';

/** The codes in the first column of the table under the `| code | meaning |` header. */
function documentedCodes(doc: string): number[] {
  const lines = readFileSync(join(projectRoot, doc), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^\| code \| meaning \|/.test(l));
  expect(start, `${doc} has an exit-code table`).toBeGreaterThanOrEqual(0);
  const codes: number[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const first = line.split('|')[1] ?? '';
    codes.push(...first.split(',').map((c) => Number(c.trim())));
  }
  return codes.sort((a, b) => a - b);
}

describe('exit-code tables', () => {
  const codes = [...new Set(Object.values(ExitCode))].sort((a, b) => a - b);
  for (const doc of ['docs/cli.md', 'docs/robustness.md']) {
    it(`${doc} lists every exit code once`, () => {
      expect(documentedCodes(doc)).toEqual(codes);
    });
  }
  it('a signal exits 128 + its number', () => {
    expect(SIGNAL_EXIT_CODES).toEqual({ SIGHUP: 128 + 1, SIGINT: 128 + 2, SIGTERM: 128 + 15 });
    expect(ExitCode.brokenPipe).toBe(128 + 13);
  });
});
