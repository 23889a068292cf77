// Why: each wizard section checks its answers with the answers schema's own entries before the
// next section is asked; a bad value names its key path, and a good section passes unchanged.
import { describe, expect, test } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { checkSection } from '../../../src/cli/wizard.js';

describe('checkSection', () => {
  test('a valid section is returned as given', () => {
    const part = { network: { mode: 'static', address: '10.0.0.2', prefix: 24, dns: [] }, ntp: { servers: [] } };
    expect(checkSection('the network answers', part)).toBe(part);
  });

  test('console null (screen only) passes', () => {
    expect(() => checkSection('the node answers', { console: null, hugepages: 0, afterInstall: 'stay' })).not.toThrow();
  });

  test('a bad value throws a ValidationError naming the key path and the section', () => {
    let err: unknown;
    try {
      checkSection('the network answers', { proxy: { noProxy: 'a,$(reboot)' }, network: { dns: ['1.1.1.1', 'x'] } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.message).toMatch(/^the network answers has 2 problems/);
    expect(v.problems[0]).toMatch(/^proxy\.noProxy: /);
    expect(v.problems[1]).toMatch(/^network\.dns\[1\]: must be an IPv4 or IPv6 address/);
  });

  test('a key the schema does not know is refused', () => {
    expect(() => checkSection('the user answers', { usr: {} })).toThrow(/usr: is not an answers key/);
  });
});
