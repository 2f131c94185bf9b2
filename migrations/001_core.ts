import type { Knex } from 'knex';

/** Accounts and their API keys: the tenancy every other table hangs from. */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('accounts', (t) => {
    t.string('id').primary();
    t.string('name').notNullable();
    t.string('created_at').notNullable();
  });
  await db.schema.createTable('api_keys', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    // Only a hash of the key is kept: a leaked database must not leak usable keys.
    t.string('key_hash').notNullable().unique();
    t.string('prefix').notNullable();
    t.string('scopes').notNullable().defaultTo('');
    t.string('created_at').notNullable();
    t.string('revoked_at');
    t.index(['account_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('api_keys');
  await db.schema.dropTableIfExists('accounts');
}
