import type { Knex } from 'knex';

/**
 * When a dynamically registered OAuth client last redeemed a code. Registration needs no
 * credentials, so the server deletes clients that never got a token a day after they registered
 * (src/oauth/clients.ts sweepUnusedClients); the index keeps that sweep off the used ones.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('oauth_clients', (t) => {
    t.string('used_at');
    t.index(['used_at', 'created_at'], 'oauth_clients_by_use');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('oauth_clients', (t) => {
    t.dropIndex(['used_at', 'created_at'], 'oauth_clients_by_use');
    t.dropColumn('used_at');
  });
}
