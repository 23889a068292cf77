// Why: the list of subcommands; each lives in its own module with a `register` function.
import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { register as doctor } from './doctor.js';

export const commands: ReadonlyArray<(program: Command, cli: Cli) => void> = [doctor];
