import type { Knex } from 'knex';

/**
 * Token buckets shared by every server process (src/accounts/rate-buckets.ts): one row per
 * (bucket, subject), e.g. ('api_key', key id) or ('auth_failure', client address). Each request
 * takes its token with one upsert on this row, so N processes together allow the limit once, not
 * N times. A row whose bucket has refilled is the same as no row, so old rows are deleted freely.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('rate_limit_buckets', (t) => {
    t.string('bucket', 32).notNullable();
    t.string('subject', 255).notNullable();
    t.double('capacity').notNullable();
    // Refill rate, tokens per millisecond.
    t.double('per_ms').notNullable();
    t.double('tokens').notNullable();
    // Whether the last take found a token (1) or was refused (0): the upsert's answer.
    t.integer('taken').notNullable();
    // Unix time in ms of the last take (the refill is computed from it).
    t.bigInteger('updated_ms').notNullable();
    t.primary(['bucket', 'subject']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('rate_limit_buckets');
}
