// Why: the list of subcommands; each lives in its own module with a `register` function.
import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { register as doctor } from './doctor.js';
import { register as inspect } from './inspect.js';
import { register as drives } from './drives.js';
import { register as write } from './write.js';
import { register as schema } from './schema.js';
import { register as build } from './build.js';
import { register as init } from './init.js';
import { register as validate } from './validate.js';
import { register as hashPassword } from './hash-password.js';
import { register as importConfig } from './import-config.js';
import { register as cache } from './cache.js';

export const commands: ReadonlyArray<(program: Command, cli: Cli) => void> = [
  doctor,
  inspect,
  drives,
  write,
  schema,
  build,
  init,
  validate,
  hashPassword,
  importConfig,
  cache,
];
