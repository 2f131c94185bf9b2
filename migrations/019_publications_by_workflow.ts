import type { Knex } from 'knex';

/**
 * Publications by workflow: every get_workflow asks whether any publication names the workflow,
 * and for a published one reads its ten most recent. The only index on account_id was
 * (account_id, created_at), so both walked all of the account's publications: a get cost more the
 * more the account had ever published. This index answers both from the workflow's own entries,
 * newest first (ties by id, as the query orders).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('publications', (t) => {
    t.index(['account_id', 'workflow_id', 'created_at', 'id'], 'publications_by_workflow');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('publications', (t) => {
    t.dropIndex(['account_id', 'workflow_id', 'created_at', 'id'], 'publications_by_workflow');
  });
}
