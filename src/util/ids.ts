import crypto from 'node:crypto';

/**
 * Random bytes drawn from the CSPRNG 4 KB at a time and handed out in slices: one
 * `randomBytes(16)` per id cost ~3 us (a buffer and a call into OpenSSL each time), and creating a
 * workflow draws four (8% of its CPU). Node's own randomUUID batches the same way. Only for ids;
 * secrets (API keys, session tokens) keep drawing their own bytes.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

/** `n` fresh random bytes (n <= 4096) as base64url text. */
export function randomText(n: number): string {
  if (used + n > POOL_BYTES) {
    crypto.randomFillSync(pool);
    used = 0;
  }
  const text = pool.toString('base64url', used, used + n);
  used += n;
  return text;
}

/**
 * Ids carry a prefix saying what they name (wf_, rnd_, ...) and 16 random bytes, so they cannot
 * be guessed or enumerated across accounts.
 */
export function newId(prefix: string): string {
  return `${prefix}_${randomText(16)}`;
}
