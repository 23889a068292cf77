// Why: make the SHA-512 crypt hash that answers files hold instead of a password (same output as
// `openssl passwd -6`), using the small, dependency-free `unixcrypt` package.
import { randomBytes } from 'node:crypto';
import { encrypt, verify } from 'unixcrypt';
import { SHA512_CRYPT_RE } from './schema.js';

const SALT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** 16 random salt characters (the maximum sha512-crypt uses); 256 % 64 == 0 so each is uniform. */
export function randomSalt(): string {
  return [...randomBytes(16)].map((b) => SALT_ALPHABET[b % 64]).join('');
}

/**
 * The most rounds make-iso computes: glibc allows 999999999, but the JS implementation runs for
 * hours and out of memory long before that; a million already takes seconds.
 */
export const MAX_ROUNDS = 1_000_000;

export interface HashOptions {
  /** Salt characters (1-16 of `./0-9A-Za-z`); random when not given. */
  salt?: string;
  /** sha512-crypt rounds, 1000 to MAX_ROUNDS; default 5000 (what openssl and glibc use). */
  rounds?: number;
}

/** `$6$salt$hash` of the password. Throws on an empty password or a bad salt; never echoes the password. */
export function hashPassword(password: string, opts: HashOptions = {}): string {
  if (password.length === 0) throw new Error('the password is empty');
  const salt = opts.salt ?? randomSalt();
  if (!/^[./0-9A-Za-z]{1,16}$/.test(salt)) throw new Error('the salt must be 1-16 characters of ./0-9A-Za-z');
  const rounds = opts.rounds ?? 5000;
  if (!Number.isInteger(rounds) || rounds < 1000 || rounds > MAX_ROUNDS) {
    throw new Error(`rounds must be a whole number from 1000 to ${MAX_ROUNDS}`);
  }
  const hash = encrypt(password, rounds === 5000 ? `$6$${salt}` : `$6$rounds=${rounds}$${salt}`);
  if (!SHA512_CRYPT_RE.test(hash)) throw new Error('sha512-crypt produced an unexpected result');
  return hash;
}

/** True when the password matches the hash. */
export function verifyPassword(password: string, hash: string): boolean {
  return verify(password, hash);
}
