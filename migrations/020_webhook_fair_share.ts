import type { Knex } from 'knex';

/**
 * For an account's share of webhook delivery slots (src/webhooks/fair-share.ts): every claim
 * counts the attempts in flight (deliveries whose lease has not run out: few, across all
 * accounts), and a deferred delivery counts the account's pending deliveries ahead of it. Without
 * these two indexes both walked every pending delivery, which an account with a backlog makes many.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('webhook_deliveries', (t) => {
    t.index(['locked_until'], 'webhook_deliveries_by_lease');
    t.index(['account_id', 'status', 'next_attempt_at'], 'webhook_deliveries_due_by_account');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('webhook_deliveries', (t) => {
    t.dropIndex(['locked_until'], 'webhook_deliveries_by_lease');
    t.dropIndex(['account_id', 'status', 'next_attempt_at'], 'webhook_deliveries_due_by_account');
  });
}
