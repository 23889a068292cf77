// Why: installs the interrupt handlers before the heavy modules (commander, execa, inquirer) load,
// so a Ctrl-C in the first second still prints the one "interrupted" line. main.ts imports it first.
import { installInterruptHandlers, interruptNote } from './interrupt.js';
import { createOutput, processOutput } from './output.js';

installInterruptHandlers({
  report: (signal, code) => {
    const message = `interrupted by ${signal}; ${interruptNote()}`;
    // before the command has parsed --json, its output is not yet switched to JSON events
    const out =
      process.argv.includes('--json') && processOutput().mode !== 'json'
        ? createOutput({ json: true }, { err: process.stderr, out: process.stdout, env: process.env })
        : processOutput();
    out.failure({ code: 'E_INTERRUPTED', exitCode: code, message });
    process.stderr.write(`make-iso: ${message}\n`);
  },
  exit: (code) => process.exit(code),
});
