import type { Knex } from 'knex';

/**
 * People who sign in to the console (src/console-auth): users belong to one account and sign in
 * with an email and a password (scrypt, see src/console-auth/passwords.ts); sessions live on the
 * server, the browser holds only a random token whose sha256 is stored here. API keys gain a name
 * and the time they were last used, for the console's key list.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('users', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    // Stored lower-cased (src/console-auth/users.ts), so the unique index is case-insensitive.
    t.string('email', 254).notNullable().unique();
    t.text('password_hash').notNullable();
    t.string('created_at').notNullable();
    t.index(['account_id']);
  });
  await db.schema.createTable('user_sessions', (t) => {
    t.string('id').primary();
    t.string('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.string('created_at').notNullable();
    // Refreshed at most once a minute; the idle limit counts from here.
    t.string('last_seen_at').notNullable();
    // The absolute limit: no session outlives it, however busy.
    t.string('expires_at').notNullable();
    t.index(['user_id']);
    t.index(['expires_at']);
  });
  await db.schema.alterTable('api_keys', (t) => {
    t.string('name', 200);
    t.string('last_used_at');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('api_keys', (t) => {
    t.dropColumn('last_used_at');
    t.dropColumn('name');
  });
  await db.schema.dropTable('user_sessions');
  await db.schema.dropTable('users');
}
