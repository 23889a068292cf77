// Why: a per-node build of 50 nodes from one OS image must not repeat the same warning 50 times,
// yet a different warning (or any other event) must still get through.
import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { warnOnce } from '../../../src/cli/build-run.js';
import { createOutput } from '../../../src/cli/output.js';

it('each distinct warning once; other events and the base output untouched', () => {
  const err = new PassThrough();
  let text = '';
  err.on('data', (b: Buffer) => (text += b.toString()));
  const base = createOutput({ verbose: true }, { err, out: new PassThrough(), env: { NO_COLOR: '1' } });
  const out = warnOnce(base);
  for (let i = 0; i < 3; i++) {
    out.progress({ step: 'probe-os-image', kind: 'warn', message: 'the OS image has no sudo' });
    out.progress({ step: 'probe-os-image', kind: 'info', message: `node ${i}` });
  }
  out.warn('another thing');
  out.warn('another thing');
  expect(text.match(/the OS image has no sudo/g)).toHaveLength(1);
  expect(text.match(/another thing/g)).toHaveLength(1);
  expect(text.match(/node \d/g)).toEqual(['node 0', 'node 1', 'node 2']);
  expect(out.mode).toBe(base.mode);
});
