#!/usr/bin/env node
// Why: the CLI entry point. It installs the interrupt handlers first (early.ts loads only light
// modules), then loads the command tree: a Ctrl-C while commander, execa and inquirer are still
// loading already cleans up and prints the one "interrupted" line.
import './early.js';

const { main } = await import('./run.js');
process.exitCode = await main(process.argv.slice(2));
