import type { Knex } from 'knex';

/**
 * OAuth clients registered before 022 added `used_at` have it null although many redeemed codes
 * (the release before never recorded it), and the minute sweep deletes clients whose `used_at`
 * is null a day after they registered (src/oauth/clients.ts sweepUnusedClients): the first sweep
 * after an upgrade deleted every client in use, and their users had to register and authorize
 * again. Whether such a client was used is unknown, so each is kept, as if used when it registered.
 */
export async function up(db: Knex): Promise<void> {
  await db('oauth_clients').whereNull('used_at').update({ used_at: db.ref('created_at') });
}

export async function down(): Promise<void> {
  // Nothing to undo: which clients had no use recorded is not kept.
}
