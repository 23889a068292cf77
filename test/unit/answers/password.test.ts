// Why: the hash make-iso prints must be what `openssl passwd -6` prints, and what the node's crypt accepts.
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { hashPassword, randomSalt, verifyPassword } from '../../../src/answers/password.js';
import { passwordHash } from '../../../src/answers/schema.js';

const cases: Array<[string, string]> = [
  ['correct horse', 'Xsalt123'],
  ['it\'s "quoted" $(x) `y` ünïcødé', 'abcdefghijklmnop'],
  ['p', './09AZaz'],
];

test.each(cases)('matches openssl passwd -6 for %j', (pw, salt) => {
  const ours = hashPassword(pw, { salt });
  const openssl = execFileSync('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: `${pw}\n` })
    .toString()
    .trim();
  expect(ours).toBe(openssl);
  expect(passwordHash.safeParse(ours).success).toBe(true);
});

test('rounds as glibc writes them', () => {
  expect(hashPassword('pw', { salt: 'saltsalt', rounds: 10000 })).toMatch(
    /^\$6\$rounds=10000\$saltsalt\$[./0-9A-Za-z]{86}$/,
  );
});

test('random salts: 16 characters, different each time, verifiable', () => {
  const a = hashPassword('secret');
  const b = hashPassword('secret');
  expect(a).not.toBe(b);
  expect(a.split('$')[2]).toHaveLength(16);
  expect(verifyPassword('secret', a)).toBe(true);
  expect(verifyPassword('Secret', a)).toBe(false);
  expect(randomSalt()).toMatch(/^[./0-9A-Za-z]{16}$/);
});

test('refuses what it cannot hash, without echoing the password', () => {
  expect(() => hashPassword('')).toThrow('the password is empty');
  expect(() => hashPassword('pw', { salt: 'bad$salt' })).toThrow(/salt/);
  expect(() => hashPassword('hunter2', { rounds: 10 })).toThrow(/rounds/);
  try {
    hashPassword('hunter2', { salt: '$$' });
  } catch (err) {
    expect(String(err)).not.toContain('hunter2');
  }
});
