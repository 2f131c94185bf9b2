import type { Knex } from 'knex';

/**
 * Publishing (channels, publications) and webhooks (endpoints, the event outbox, deliveries and
 * their attempt log). Times are ISO-8601 strings in UTC, like every other table, so they compare
 * correctly as text on both databases.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('channels', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.enu('platform', ['youtube', 'tiktok', 'local']).notNullable();
    t.string('name').notNullable();
    // AES-256-GCM sealed JSON (see src/publish/credentials.ts). Services never select it except
    // when a publication runs; list queries name their columns.
    t.text('credentials_sealed').notNullable();
    t.string('created_at').notNullable();
    t.index(['account_id']);
  });

  await db.schema.createTable('publications', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('workflow_id').notNullable();
    t.string('channel_id').notNullable().references('channels.id').onDelete('CASCADE');
    t.string('render_id').notNullable();
    // Snapshot of the render taken when the publication was requested, so the job needs nothing
    // from the render tables when it fires.
    t.text('video_path').notNullable();
    t.text('video_url');
    t.float('video_duration_s');
    t.enu('status', ['scheduled', 'publishing', 'published', 'failed', 'canceled']).notNullable();
    // When the run is due; `immediate` says the caller asked for now rather than for a time.
    t.string('scheduled_for').notNullable();
    t.boolean('immediate').notNullable().defaultTo(false);
    t.text('title');
    t.text('caption');
    t.text('published_url');
    t.string('external_id');
    t.string('error_code');
    t.text('error');
    // Runs that failed before the platform got any bytes and were put back on the schedule.
    t.integer('attempts').notNullable().defaultTo(0);
    // Set by the one runner whose conditional update scheduled -> publishing succeeded.
    t.string('claim_token');
    t.string('created_at').notNullable();
    t.string('updated_at').notNullable();
    t.string('started_at');
    t.string('published_at');
    t.string('canceled_at');
    // A claim is made once: a second runner can never hold a claim on the same publication, and
    // one platform post can be recorded against only one publication.
    t.unique(['claim_token']);
    t.unique(['channel_id', 'external_id']);
    t.index(['account_id', 'created_at']);
    t.index(['status', 'scheduled_for']);
  });

  await db.schema.createTable('webhook_endpoints', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.text('url').notNullable();
    t.text('description');
    // JSON array of event types; ["*"] subscribes to everything.
    t.text('events').notNullable();
    // whsec_...: needed in clear to sign; returned once at creation, never selected by lists.
    t.string('secret').notNullable();
    t.enu('status', ['active', 'disabled']).notNullable();
    t.text('disabled_reason');
    t.string('created_at').notNullable();
    t.string('updated_at').notNullable();
    t.index(['account_id']);
  });

  await db.schema.createTable('webhook_events', (t) => {
    t.string('id').primary(); // msg_...: the webhook-id of every delivery of this event
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('type').notNullable();
    t.text('payload').notNullable();
    t.string('created_at').notNullable();
    t.index(['account_id', 'created_at']);
  });

  await db.schema.createTable('webhook_deliveries', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('endpoint_id').notNullable().references('webhook_endpoints.id').onDelete('CASCADE');
    t.string('event_id').notNullable().references('webhook_events.id').onDelete('CASCADE');
    t.string('replay_of');
    t.integer('attempt').notNullable().defaultTo(0);
    t.enu('status', ['pending', 'succeeded', 'failed']).notNullable();
    t.integer('response_status');
    t.text('last_error');
    t.string('next_attempt_at');
    // A short lease so that two runners never send the same attempt at once.
    t.string('locked_until');
    t.string('created_at').notNullable();
    t.string('updated_at').notNullable();
    t.string('delivered_at');
    t.index(['endpoint_id', 'created_at']);
    t.index(['status', 'next_attempt_at']);
  });

  await db.schema.createTable('webhook_delivery_attempts', (t) => {
    t.string('id').primary();
    t.string('delivery_id').notNullable().references('webhook_deliveries.id').onDelete('CASCADE');
    t.integer('attempt').notNullable();
    t.integer('response_status');
    t.text('error');
    t.integer('duration_ms').notNullable();
    t.string('created_at').notNullable();
    t.unique(['delivery_id', 'attempt']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('webhook_delivery_attempts');
  await db.schema.dropTableIfExists('webhook_deliveries');
  await db.schema.dropTableIfExists('webhook_events');
  await db.schema.dropTableIfExists('webhook_endpoints');
  await db.schema.dropTableIfExists('publications');
  await db.schema.dropTableIfExists('channels');
}
