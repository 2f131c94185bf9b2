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

/**
 * Ids that sort by creation time: the prefix, the time in milliseconds (9 characters of an
 * alphabet in ASCII order), then 12 random bytes (96 bits, still unguessable). For ids that key an
 * index written on a hot path (workflows, their scenes, reservations, ledger entries): random ids
 * put every insert on a different leaf page of each index, so each commit writes (and checkpoints)
 * a page per index; ids in time order land on the last page, which inserts of a moment share.
 */
export function timeOrderedId(prefix: string, now: number = Date.now()): string {
  return `${prefix}_${now.toString(32).padStart(9, '0')}${randomText(12)}`;
}
