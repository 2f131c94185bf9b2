import type { Knex } from 'knex';

/** The outermost transaction of `trx` (a savepoint's release is not yet a commit). */
export function outermost(trx: Knex.Transaction): Knex.Transaction {
  let t = trx as Knex.Transaction & { parentTransaction?: Knex.Transaction };
  while (t.parentTransaction) t = t.parentTransaction as typeof t;
  return t;
}

/**
 * Runs `fn` once `trx` has committed (never after a rollback), without waiting for it: for work
 * outside the database, such as removing a stored file, that must neither run for a change that
 * did not happen nor hold the transaction (on SQLite, every other writer) while a slow store answers.
 */
export function afterCommit(trx: Knex.Transaction, fn: () => Promise<unknown>): void {
  outermost(trx).executionPromise.then(() => fn().catch(() => {}), () => {});
}
