import type { Knex } from 'knex';

/**
 * The Idempotency-Key a publication was requested with. The key's stored answer and the
 * publication are written in two transactions: a server killed between them left the key claimed
 * but unanswered, and the client's retry, once the claim ran out, ran publish_video again and the
 * video went out twice. With the key on the row, that retry finds the publication it already
 * made. Not unique: once the key's replay window is over, the key may start a new request.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('publications', (t) => {
    t.string('request_key', 255);
    t.index(['account_id', 'request_key'], 'publications_request_key');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('publications', (t) => {
    t.dropIndex(['account_id', 'request_key'], 'publications_request_key');
    t.dropColumn('request_key');
  });
}
