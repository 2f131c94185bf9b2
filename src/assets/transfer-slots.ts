import type { Db } from '../db/knex.js';
import { dbKind } from '../db/knex.js';
import { newId } from '../util/ids.js';
import { clusterNow } from '../db/cluster-time.js';

/**
 * The count of an account's transfers arriving at once, kept in the database (table
 * transfer_slots, migration 012) so every API process counts the others' too. Claiming is one
 * short transaction: on PostgreSQL it locks the account's row first (FOR NO KEY UPDATE, which
 * rows referencing the account do not wait on), so two processes cannot both see the last free
 * slot; on SQLite the transaction already holds the write lock.
 */

/** How long a slot counts without renewal: the bound on a crashed process's slots. */
const SLOT_LEASE_MS = 60_000;

export interface TransferSlot {
  /** Frees the slot (the transfer ended). */
  release(): Promise<void>;
}

/** Takes one of the account's `limit` slots, or answers null when all are taken. */
export async function claimTransferSlot(db: Db, accountId: string, limit: number, leaseMs = SLOT_LEASE_MS): Promise<TransferSlot | null> {
  const id = newId('xfr');
  const claimed = await db.transaction(async (trx) => {
    if (dbKind(trx) === 'postgres') await trx('accounts').where({ id: accountId }).forNoKeyUpdate().first('id');
    const now = clusterNow();
    await trx('transfer_slots').where({ account_id: accountId }).andWhere('expires_ms', '<=', now).del();
    const row = await trx('transfer_slots').where({ account_id: accountId }).count<{ n: number | string }[]>({ n: '*' }).first();
    if (Number(row?.n ?? 0) >= limit) return false;
    await trx('transfer_slots').insert({ id, account_id: accountId, expires_ms: now + leaseMs });
    return true;
  });
  if (!claimed) return null;
  // Renewed while the transfer runs (an upload may take many minutes); a failed renewal is retried
  // at the next tick, and the lease is long enough to miss a few. A renewal that finds the slot
  // gone puts it back: a forward step of the shared clock makes every live slot look expired, and
  // the next claim deletes them all, after which the account's live transfers counted for nothing
  // and as many again could start beside them.
  let renewing: Promise<unknown> = Promise.resolve();
  const renew = setInterval(() => {
    const expiresMs = clusterNow() + leaseMs;
    renewing = db('transfer_slots').where({ id }).update({ expires_ms: expiresMs })
      .then((n) => (Number(n) > 0 ? undefined
        : db('transfer_slots').insert({ id, account_id: accountId, expires_ms: expiresMs }).onConflict('id').ignore()))
      .catch(() => {});
  }, Math.max(50, Math.floor(leaseMs / 4)));
  renew.unref();
  return {
    async release() {
      clearInterval(renew);
      await renewing; // so that no renewal puts the slot back after it is freed
      await db('transfer_slots').where({ id }).del();
    },
  };
}
