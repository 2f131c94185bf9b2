import type { Knex } from 'knex';

/**
 * Workflows and their scenes. A workflow is a list of scenes in playback order; each scene is one
 * shot compiled into an image node wired to a video node (the canvas graph is derived from the
 * scenes, never stored apart from them, so the two cannot disagree).
 *
 * Other modules write to `workflow_scenes` (generation sets status / image_key / clip_key /
 * error); they should do so with conditional updates (`WHERE status = ...`).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('workflows', (t) => {
    t.string('id').primary();
    t.string('account_id').notNullable().references('accounts.id').onDelete('CASCADE');
    t.string('name', 200).notNullable();
    t.text('description');
    t.string('aspect_ratio', 8).notNullable();
    // Optimistic concurrency: every edit is `UPDATE ... SET version = version + 1 WHERE version = ?`.
    t.integer('version').notNullable().defaultTo(1);
    t.string('created_at').notNullable();
    t.string('updated_at').notNullable();
    t.check('version >= 1', [], 'workflows_version_pos');
    // Keyset pagination (newest first) within an account.
    t.index(['account_id', 'created_at', 'id'], 'workflows_account_page');
  });
  await db.schema.createTable('workflow_scenes', (t) => {
    t.string('workflow_id').notNullable().references('workflows.id').onDelete('CASCADE');
    // The scene's id is its video node's id (also the clip id of the audio model).
    t.string('node_id', 128).notNullable();
    t.string('image_node_id', 128).notNullable();
    t.string('account_id').notNullable();
    t.integer('position').notNullable();
    t.text('prompt').notNullable();
    t.text('image_prompt');
    t.string('image_asset_id');
    t.integer('duration_s').notNullable();
    t.string('status').notNullable().defaultTo('draft');
    // Storage keys (src/storage) of the generated still and clip; signed into URLs on read.
    t.string('image_key');
    t.string('clip_key');
    // JSON {code, message} of the last failed attempt.
    t.text('error');
    t.string('created_at').notNullable();
    t.string('updated_at').notNullable();
    t.primary(['workflow_id', 'node_id']);
    t.unique(['workflow_id', 'position']);
    t.unique(['workflow_id', 'image_node_id']);
    t.check("status in ('draft', 'generating', 'generated', 'failed')", [], 'workflow_scenes_status');
    t.check('duration_s >= 1 and duration_s <= 10', [], 'workflow_scenes_duration');
    t.check('position >= 0', [], 'workflow_scenes_position');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('workflow_scenes');
  await db.schema.dropTableIfExists('workflows');
}
