// Why: the list of subcommands; each lives in its own module with a `register` function.
import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { register as doctor } from './doctor.js';
import { register as drives } from './drives.js';
import { register as write } from './write.js';
import { register as schema } from './schema.js';

export const commands: ReadonlyArray<(program: Command, cli: Cli) => void> = [doctor, drives, write, schema];
