import type { Knex } from 'knex';

/**
 * Scene generation and usage counters.
 *
 * - `generations`: one `generate_scene` call. At most one generation per workflow is queued or
 *   running at a time; a partial UNIQUE index says so in the database, so two racing calls cannot
 *   both start one whatever the code above does.
 * - `generation_scenes`: one scene of a generation, with its own credit reservation (UNIQUE: a
 *   reservation pays for one scene of one generation) and its job. The row's status only moves
 *   forward (queued -> running -> generated | failed) through conditional updates, and the scene
 *   is charged in the same transaction that marks it generated, so a scene re-run after a crash
 *   can never be charged twice. `credits_charged` is 0 or the scene's price, nothing in between.
 * - `usage_daily`: per account and UTC day, clips generated and renders finished, incremented in
 *   the transaction of the event (credits spent are read from the ledger's commit entries). Rows
 *   outlive deleted workflows, so a month's usage does not shrink when a user tidies up.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('generations', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('workflow_id').notNullable().references('workflows.id').onDelete('CASCADE');
    t.string('status').notNullable().defaultTo('queued');
    t.integer('scene_count').notNullable();
    t.bigInteger('credits_reserved').notNullable();
    t.bigInteger('credits_charged').notNullable().defaultTo(0);
    t.text('reroll_hint');
    t.string('created_at').notNullable();
    t.string('updated_at').notNullable();
    t.string('started_at');
    t.string('finished_at');
    t.check("status in ('queued', 'running', 'succeeded', 'failed')", [], 'generations_status');
    t.check('scene_count >= 1', [], 'generations_scene_count');
    t.check('credits_reserved >= 0 and credits_charged >= 0 and credits_charged <= credits_reserved', [], 'generations_credits');
    t.index(['workflow_id', 'created_at'], 'generations_workflow_latest');
  });
  // One active generation per workflow (SQLite and PostgreSQL both have partial indexes).
  await db.raw(`create unique index generations_one_active on generations (workflow_id) where status in ('queued', 'running')`);

  await db.schema.createTable('generation_scenes', (t) => {
    t.string('generation_id').notNullable().references('generations.id').onDelete('CASCADE');
    t.string('node_id', 128).notNullable();
    t.string('workflow_id').notNullable();
    t.string('account_id').notNullable();
    t.integer('position').notNullable();
    // The prompt this attempt uses (the scene's prompt plus any reroll hint).
    t.text('prompt').notNullable();
    t.text('image_prompt');
    t.string('image_asset_id');
    t.integer('duration_s').notNullable();
    t.integer('width').notNullable();
    t.integer('height').notNullable();
    t.string('model').notNullable();
    t.bigInteger('credits').notNullable();
    t.string('reservation_id').notNullable().unique().references('reservations.id');
    t.string('job_id');
    t.string('status').notNullable().defaultTo('queued');
    // While running: 'image' (drawing the opening still) or 'video' (animating it).
    t.string('step');
    t.string('image_key');
    t.string('clip_key');
    t.float('clip_duration_s');
    t.bigInteger('credits_charged').notNullable().defaultTo(0);
    // JSON {code, message} when failed.
    t.text('error');
    t.string('created_at').notNullable();
    t.string('updated_at').notNullable();
    t.string('started_at');
    t.string('finished_at');
    t.primary(['generation_id', 'node_id']);
    t.check("status in ('queued', 'running', 'generated', 'failed')", [], 'generation_scenes_status');
    t.check('credits > 0', [], 'generation_scenes_credits_pos');
    t.check("credits_charged = 0 or (credits_charged = credits and status = 'generated')", [], 'generation_scenes_charged');
    t.check("status <> 'generated' or clip_key is not null", [], 'generation_scenes_clip');
  });

  await db.schema.createTable('usage_daily', (t) => {
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('day', 10).notNullable();
    t.integer('clips_generated').notNullable().defaultTo(0);
    t.integer('renders').notNullable().defaultTo(0);
    t.primary(['account_id', 'day']);
    t.check('clips_generated >= 0 and renders >= 0', [], 'usage_daily_nonneg');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('usage_daily');
  await db.schema.dropTableIfExists('generation_scenes');
  await db.raw('drop index if exists generations_one_active');
  await db.schema.dropTableIfExists('generations');
}
