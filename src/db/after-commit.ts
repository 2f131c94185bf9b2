import type { Knex } from 'knex';

/** The outermost transaction of `trx` (a savepoint's release is not yet a commit). */
export function outermost(trx: Knex.Transaction): Knex.Transaction {
  let t = trx as Knex.Transaction & { parentTransaction?: Knex.Transaction };
  while (t.parentTransaction) t = t.parentTransaction as typeof t;
  return t;
}
