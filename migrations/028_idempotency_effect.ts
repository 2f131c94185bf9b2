import type { Knex } from 'knex';

/**
 * What a keyed write made (an id), recorded on its Idempotency-Key's row in the write's own
 * transaction. A server killed after the write committed but before the answer was stored left the
 * key claimed and unanswered; the client's retry, once the claim ran out, ran the write again (a
 * second workflow, a second reservation of credits). The retry now finds the effect and answers
 * with what was made (src/http/keyed-write.ts).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('idempotency_keys', (t) => {
    t.string('effect', 64);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('idempotency_keys', (t) => {
    t.dropColumn('effect');
  });
}
