/**
 * The ledger and job-queue suites' shared setup: a fresh migrated database for every test, and
 * after it the ledger's invariants (balances equal their entries, nothing reserved twice...).
 */
import { afterEach, beforeEach } from 'vitest';
import type { DbKind } from '../../src/db/knex.js';
import { assertInvariants } from '../../src/ledger/index.js';
import { freshDb, type FreshDb } from './db.js';

export function checkedDbPerTest(kind: DbKind, hooks: {
  /** Receives each test's database before the test runs. */
  onFresh: (fresh: FreshDb) => void;
  /** Stops what the test started (workers, child processes) before the invariants are checked. */
  beforeCheck?: () => Promise<unknown>;
}): void {
  let fresh: FreshDb | undefined;
  beforeEach(async () => {
    fresh = await freshDb(kind);
    hooks.onFresh(fresh);
  });
  afterEach(async () => {
    if (!fresh) return;
    try {
      await hooks.beforeCheck?.();
      await assertInvariants(fresh.db);
    } finally {
      await fresh.close();
      fresh = undefined;
    }
  });
}
