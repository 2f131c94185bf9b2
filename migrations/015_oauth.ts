import type { Knex } from 'knex';

/**
 * OAuth 2.0 on both sides. `oauth_grants` holds short-lived, single-use secrets, stored as
 * sha256 only: the `state` of a channel connection in flight (with its PKCE verifier, bound to
 * the console session that started it) and the authorization codes this server issues to MCP
 * clients. `oauth_clients` are the clients registered dynamically (RFC 7591). Channels gain
 * `disconnected_at`: a disconnected channel keeps its publication history but no credentials.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('oauth_grants', (t) => {
    t.string('id').primary();
    t.string('purpose', 40).notNullable();
    t.string('secret_hash', 64).notNullable().unique();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('user_id').references('users.id').onDelete('CASCADE');
    t.string('session_id');
    t.string('client_id');
    // Purpose-specific details as JSON (platform, PKCE verifier or challenge, redirect URI ...).
    t.text('data').notNullable();
    t.string('created_at').notNullable();
    t.string('expires_at').notNullable();
    // Set by the one request whose conditional update claimed the grant.
    t.string('used_at');
    t.index(['expires_at']);
  });
  await db.schema.createTable('oauth_clients', (t) => {
    t.string('id').primary();
    t.string('client_name', 200).notNullable();
    // JSON array of exact redirect URIs.
    t.text('redirect_uris').notNullable();
    t.string('created_at').notNullable();
  });
  await db.schema.alterTable('channels', (t) => {
    t.string('disconnected_at');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('channels', (t) => {
    t.dropColumn('disconnected_at');
  });
  await db.schema.dropTable('oauth_clients');
  await db.schema.dropTable('oauth_grants');
}
