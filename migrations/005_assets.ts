import type { Knex } from 'knex';

/**
 * Imported and uploaded assets, each account's storage usage against its quota, and one-time
 * upload slots. Times are ISO-8601 UTC strings (they compare correctly as text on both databases).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('assets', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('kind').notNullable();
    t.string('source').notNullable();
    t.text('source_url');
    t.string('filename');
    t.string('file_key').notNullable().unique();
    t.bigInteger('bytes').notNullable();
    t.string('content_type').notNullable();
    t.string('sha256').notNullable();
    t.float('duration_s');
    t.integer('width');
    t.integer('height');
    t.string('created_at').notNullable();
    t.index(['account_id', 'created_at']);
    t.check(`kind in ('image', 'video', 'music', 'voice', 'sfx')`, [], 'assets_kind_check');
    t.check(`source in ('url', 'upload')`, [], 'assets_source_check');
    t.check('bytes >= 0', [], 'assets_bytes_check');
  });

  // Bytes each account stores. The quota is enforced by the database: usage only grows through a
  // conditional update (`used_bytes + n <= quota_bytes`), and the CHECK makes any other write
  // that would overflow it fail.
  await db.schema.createTable('storage_usage', (t) => {
    t.string('account_id').primary().references('accounts.id').onDelete('CASCADE');
    t.bigInteger('used_bytes').notNullable().defaultTo(0);
    t.bigInteger('quota_bytes').notNullable();
    t.string('updated_at').notNullable();
    t.check('used_bytes >= 0 and used_bytes <= quota_bytes', [], 'storage_usage_quota_check');
  });

  await db.schema.createTable('upload_slots', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('kind').notNullable();
    t.string('filename');
    t.bigInteger('declared_bytes');
    t.bigInteger('max_bytes').notNullable();
    // open -> receiving (one conditional update: the slot is claimed exactly once) -> completed | failed
    t.string('status').notNullable();
    t.string('expires_at').notNullable();
    t.string('created_at').notNullable();
    t.string('claimed_at');
    t.string('finished_at');
    t.string('asset_id');
    t.string('error_code');
    t.index(['account_id', 'created_at']);
    t.check(`status in ('open', 'receiving', 'completed', 'failed')`, [], 'upload_slots_status_check');
    t.check(`kind in ('image', 'video', 'music', 'voice', 'sfx')`, [], 'upload_slots_kind_check');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('upload_slots');
  await db.schema.dropTableIfExists('storage_usage');
  await db.schema.dropTableIfExists('assets');
}
