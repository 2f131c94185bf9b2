import type { Knex } from 'knex';

/**
 * Leaves a keyed request's idempotency row as a server killed between the write's commit and its
 * stored answer leaves it: claimed ("running") by a process that no longer renews it, its lease
 * run out, no answer. What the write recorded on the row (`effect`) stays. Returns how many rows
 * matched (a test expects 1).
 */
export function leaveClaimOfDeadServer(db: Knex, key: string, table = 'idempotency_keys'): Promise<number> {
  return db(table).where({ idem_key: key }).update({
    state: 'running', lock_token: 'dead-server', locked_until: new Date(Date.now() - 1000).toISOString(), status: null, headers: null, body: null,
  });
}
