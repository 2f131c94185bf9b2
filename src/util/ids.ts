import crypto from 'node:crypto';

/**
 * Ids carry a prefix saying what they name (wf_, rnd_, ...) and 16 random bytes, so they cannot
 * be guessed or enumerated across accounts.
 */
export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomBytes(16).toString('base64url')}`;
}
