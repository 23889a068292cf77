// Why: `make-iso hash-password` turns a password into the SHA-512 crypt hash answers files hold;
// it prints only the hash and never echoes, logs or stores the password.
import { text } from 'node:stream/consumers';
import type { Command } from 'commander';
import { hashPassword } from '../../answers/password.js';
import { UserError } from '../../errors.js';
import type { Cli } from '../context.js';
import { terminalPrompts, type Prompts } from '../prompts.js';

export interface HashPasswordDeps {
  /** True when a person can type (stdin is a terminal). */
  interactive: () => boolean;
  prompts: () => Prompts;
  readStdin: () => Promise<string>;
}

const defaultDeps: HashPasswordDeps = {
  interactive: () => Boolean(process.stdin.isTTY),
  prompts: () => terminalPrompts(process.stderr),
  readStdin: () => text(process.stdin),
};

/** Asks twice without echo; the two must match. */
export async function askPasswordTwice(prompts: Prompts): Promise<string> {
  const nonEmpty = (v: string): true | string => (v.length > 0 ? true : 'the password must not be empty');
  const first = await prompts.secret('Password:', { validate: nonEmpty });
  const second = await prompts.secret('Password again:');
  if (first !== second) throw new UserError('the two passwords differ; nothing was printed');
  return first;
}

export function register(program: Command, cli: Cli, deps: HashPasswordDeps = defaultDeps): void {
  program
    .command('hash-password')
    .description(
      'print the SHA-512 crypt hash of a password for user.passwordHash (asks twice without echo; reads one line from stdin when it is not a terminal)',
    )
    .option('--salt <salt>', 'use this salt (1-16 characters of ./0-9A-Za-z) instead of a random one')
    .option('--rounds <n>', 'sha512-crypt rounds (default 5000, as openssl passwd -6)', (v) => Number(v))
    .action(async (opts: { salt?: string; rounds?: number }) => {
      let password: string;
      if (deps.interactive()) {
        password = await askPasswordTwice(deps.prompts());
      } else {
        const input = await deps.readStdin();
        password = (input.split('\n')[0] ?? '').replace(/\r$/, '');
        if (password === '') throw new UserError('no password on standard input (one line expected)');
      }
      let hash: string;
      try {
        hash = hashPassword(password, { ...(opts.salt ? { salt: opts.salt } : {}), rounds: opts.rounds ?? 5000 });
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      cli.out(hash);
    });
}
