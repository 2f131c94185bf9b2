import type { Knex } from 'knex';

/**
 * Credits and the durable job queue.
 *
 * Money is guarded by the database itself, not by the code that talks to it:
 * - `balances` holds one row per account with `balance` (granted minus charged) and `reserved`
 *   (held by open reservations); CHECKs forbid a negative reserve and a negative available
 *   amount, so an UPDATE that would overdraw fails even if its WHERE clause were wrong.
 * - `ledger_entries` is append-only; every entry carries a per-account sequence number taken from
 *   `balances.last_seq` in the same UPDATE that moves the money (UNIQUE(account_id, seq)), and the
 *   balance and reserve right after it, so the log is totally ordered per account and replayable.
 * - a reservation has at most one entry of each kind (UNIQUE(reservation_id, kind)): it can be
 *   reserved once, charged once and released once, whatever races happen above.
 *
 * Times are ISO-8601 UTC strings (as in 001_core), which sort as text.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('balances', (t) => {
    t.string('account_id').primary().references('accounts.id').onDelete('CASCADE');
    t.bigInteger('balance').notNullable().defaultTo(0);
    t.bigInteger('reserved').notNullable().defaultTo(0);
    t.bigInteger('last_seq').notNullable().defaultTo(0);
    t.string('updated_at').notNullable();
    t.check('reserved >= 0', [], 'balances_reserved_nonneg');
    t.check('balance - reserved >= 0', [], 'balances_available_nonneg');
  });

  await db.schema.createTable('reservations', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.bigInteger('amount').notNullable();
    t.bigInteger('committed').notNullable().defaultTo(0);
    t.string('status').notNullable().defaultTo('open');
    t.string('reason');
    t.text('metadata');
    t.string('expires_at');
    t.string('created_at').notNullable();
    t.string('resolved_at');
    t.check('amount > 0', [], 'reservations_amount_pos');
    t.check('committed >= 0 and committed <= amount', [], 'reservations_committed_range');
    t.check("status in ('open', 'committed', 'released', 'expired')", [], 'reservations_status');
    t.check("(status = 'open') = (resolved_at is null)", [], 'reservations_resolved_at');
    t.check("status = 'committed' or committed = 0", [], 'reservations_committed_only_if_committed');
    t.index(['account_id', 'created_at']);
    t.index(['status', 'expires_at']);
  });

  await db.schema.createTable('ledger_entries', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.bigInteger('seq').notNullable();
    t.string('kind').notNullable();
    t.bigInteger('amount').notNullable();
    t.string('reservation_id').references('reservations.id');
    t.bigInteger('balance_after').notNullable();
    t.bigInteger('reserved_after').notNullable();
    t.string('reason');
    t.string('created_at').notNullable();
    t.unique(['account_id', 'seq']);
    t.unique(['reservation_id', 'kind']);
    t.check('amount > 0', [], 'ledger_entries_amount_pos');
    t.check("kind in ('grant', 'reserve', 'commit', 'release')", [], 'ledger_entries_kind');
    t.check("(kind = 'grant') = (reservation_id is null)", [], 'ledger_entries_reservation');
    t.check('reserved_after >= 0 and balance_after - reserved_after >= 0', [], 'ledger_entries_after_nonneg');
  });

  await db.schema.createTable('jobs', (t) => {
    t.string('id').primary();
    t.string('type').notNullable();
    t.text('payload').notNullable();
    t.string('status').notNullable().defaultTo('queued');
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('max_attempts').notNullable().defaultTo(5);
    t.string('run_at').notNullable();
    t.string('lease_owner');
    t.string('lease_expires_at');
    t.text('last_error');
    t.text('result');
    t.string('dedupe_key').unique();
    t.string('created_at').notNullable();
    t.string('updated_at').notNullable();
    t.string('started_at');
    t.string('finished_at');
    t.check("status in ('queued', 'running', 'succeeded', 'failed', 'canceled')", [], 'jobs_status');
    t.check('attempts >= 0 and max_attempts >= 1', [], 'jobs_attempts');
    t.check("(status = 'running') = (lease_owner is not null)", [], 'jobs_lease');
    t.index(['status', 'run_at']);
    t.index(['status', 'lease_expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('jobs');
  await db.schema.dropTableIfExists('ledger_entries');
  await db.schema.dropTableIfExists('reservations');
  await db.schema.dropTableIfExists('balances');
}
