// Why: the typed confirmation before `make-iso write` destroys a drive (src/cli/prompts.ts,
// the inquirer door, did not exist when this was written; node:readline needs no package).
import { createInterface } from 'node:readline/promises';
import { InterruptedError } from '../errors.js';

/** True when a human can answer: stdin is a terminal. Never prompt otherwise. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY);
}

/**
 * Asks on stderr and returns true only when the answer is exactly `expected` (surrounding
 * blanks ignored) or one of `alsoAccept`. Ctrl-C rejects with InterruptedError.
 */
export async function confirmTyped(question: string, expected: string, alsoAccept: string[] = []): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const ac = new AbortController();
  rl.on('SIGINT', () => ac.abort());
  try {
    const answer = (await rl.question(question, { signal: ac.signal })).trim();
    return answer === expected || alsoAccept.includes(answer);
  } catch (err) {
    if (ac.signal.aborted) throw new InterruptedError('cancelled; nothing was written', { cause: err });
    throw err;
  } finally {
    rl.close();
  }
}
