// Why: the only door to @inquirer/prompts, so tests can replace every question and Ctrl-C
// becomes one InterruptedError (exit 130) wherever it is pressed.
import type * as Inquirer from '@inquirer/prompts';
import { InterruptedError } from '../errors.js';

export type Validate<T> = (value: T) => true | string;

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
}

/** Every question the CLI can ask. The wizard and hash-password take this, so tests pass fakes. */
export interface Prompts {
  text(message: string, opts?: { default?: string; validate?: Validate<string> }): Promise<string>;
  /** No echo at all. */
  secret(message: string, opts?: { validate?: Validate<string> }): Promise<string>;
  confirm(message: string, opts?: { default?: boolean }): Promise<boolean>;
  select<T>(message: string, choices: ReadonlyArray<Choice<T>>, opts?: { default?: T }): Promise<T>;
  integer(message: string, opts: { default: number; min?: number; max?: number }): Promise<number>;
  multi<T>(message: string, choices: ReadonlyArray<Choice<T> & { checked?: boolean }>): Promise<T[]>;
}

/** Ctrl-C in inquirer rejects with ExitPromptError (or AbortPromptError on a signal). */
function isPromptExit(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError';
}

async function guard<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (err) {
    if (isPromptExit(err)) throw new InterruptedError('cancelled; nothing was written', { cause: err });
    throw err;
  }
}

/** Loaded on the first question: a build that asks nothing does not pay for it (about 0.1 s CPU). */
const inquirer = (): Promise<typeof Inquirer> => import('@inquirer/prompts');

/** Real prompts on the terminal. `output` defaults to stderr so stdout stays clean for results. */
export function terminalPrompts(output: NodeJS.WritableStream = process.stderr): Prompts {
  const ctx = { output, input: process.stdin };
  return {
    text: (message, opts = {}) =>
      guard(async () =>
        (await inquirer()).input(
          {
            message,
            ...(opts.default !== undefined ? { default: opts.default } : {}),
            ...(opts.validate ? { validate: opts.validate } : {}),
          },
          ctx,
        ),
      ),
    secret: (message, opts = {}) =>
      guard(async () =>
        (await inquirer()).password({ message, ...(opts.validate ? { validate: opts.validate } : {}) }, ctx),
      ),
    confirm: (message, opts = {}) =>
      guard(async () => (await inquirer()).confirm({ message, default: opts.default ?? false }, ctx)),
    select: <T>(message: string, choices: ReadonlyArray<Choice<T>>, opts: { default?: T } = {}) =>
      guard(async () =>
        (await inquirer()).select<T>(
          { message, choices: [...choices], ...(opts.default !== undefined ? { default: opts.default } : {}) },
          ctx,
        ),
      ),
    integer: (message, opts) =>
      guard(async () => {
        const v = await (
          await inquirer()
        ).number({ message, default: opts.default, min: opts.min ?? 0, max: opts.max, step: 1, required: true }, ctx);
        return v ?? opts.default;
      }),
    multi: <T>(message: string, choices: ReadonlyArray<Choice<T> & { checked?: boolean }>) =>
      guard(async () => (await inquirer()).checkbox<T>({ message, choices: [...choices] }, ctx)),
  };
}
