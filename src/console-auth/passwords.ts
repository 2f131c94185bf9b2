import crypto from 'node:crypto';
import { promisify } from 'node:util';

/**
 * Passwords are hashed with scrypt (node:crypto), a fresh 16-byte salt per user. The stored text
 * names its parameters (`scrypt$N$r$p$salt$hash`), so they can be raised later without breaking
 * hashes already stored.
 */
const scrypt = promisify(crypto.scrypt) as (password: string | Buffer, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

/** N = 2^15, r = 8, p = 1: OWASP's floor for scrypt; 32 MB of memory per hash. */
const PARAMS = { N: 32_768, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
/** Room for the parameters above (128 * N * r) plus slack. */
const MAX_MEMORY = 64 * 1024 * 1024;

export const PASSWORD_MIN_LENGTH = 10;
/** Far above any real password; stops a megabyte "password" from costing a hash each try. */
export const PASSWORD_MAX_LENGTH = 1024;

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...PARAMS, maxmem: MAX_MEMORY });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** Whether `password` matches `stored`; the comparison takes the same time wherever they differ. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (!Number.isSafeInteger(params.N) || !Number.isSafeInteger(params.r) || !Number.isSafeInteger(params.p) || !expected.length) return false;
  if (password.length > PASSWORD_MAX_LENGTH) return false;
  const actual = await scrypt(password.normalize('NFC'), Buffer.from(salt, 'base64url'), expected.length, { ...params, maxmem: MAX_MEMORY });
  return crypto.timingSafeEqual(actual, expected);
}

/**
 * A hash of a random password, computed once: a sign-in for an email nobody has is checked
 * against it, so it costs the same time as a wrong password for a real user.
 */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(crypto.randomBytes(24).toString('base64url'));
  return decoy;
}
