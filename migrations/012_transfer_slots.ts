import type { Knex } from 'knex';

/**
 * Uploads and imports arriving now, one row each, so the per-account cap on transfers at once
 * (LAVENDLY_TRANSFERS_PER_ACCOUNT) holds across every API process (src/assets/transfer-slots.ts).
 * A row lives while its transfer runs, renewed by its process; the row of a process that died
 * stops counting when `expires_ms` passes.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('transfer_slots', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable();
    // Unix time in ms after which the slot no longer counts (its process stopped renewing it).
    t.bigInteger('expires_ms').notNullable();
    t.index(['account_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('transfer_slots');
}
