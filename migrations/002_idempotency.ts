import type { Knex } from 'knex';

/**
 * Idempotency keys: one row per (account, operation, key). The UNIQUE constraint is the lock:
 * of many concurrent requests with one key, exactly one INSERT succeeds and runs the operation;
 * the row then holds the response it gave, replayed to every retry within the window.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('idempotency_keys', (t) => {
    t.string('id').primary();
    // No foreign key: operations without security scope their keys to the empty account ''.
    t.string('account_id').notNullable();
    t.string('operation_id').notNullable();
    t.string('idem_key', 255).notNullable();
    // sha256 of method, path, query, content type and body: "the same request".
    t.string('request_hash', 64).notNullable();
    t.string('state').notNullable(); // running | done
    t.string('lock_token');
    t.string('locked_until');
    t.integer('status');
    t.text('headers');
    t.text('body');
    t.string('created_at').notNullable();
    t.string('expires_at').notNullable();
    t.unique(['account_id', 'operation_id', 'idem_key']);
    t.index(['expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('idempotency_keys');
}
