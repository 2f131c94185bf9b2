import type { Knex } from 'knex';

/**
 * How far a claimed publication's run got: 'fetching' from the claim until it is about to call
 * the platform, then 'posting'. A run that died in 'fetching' cannot have posted anything, so it
 * is put back on the schedule; one that died in 'posting' may have posted and is never re-run.
 * Rows claimed before this column existed stay null and are treated as 'posting' (the careful way).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('publications', (t) => {
    t.string('publish_step', 16);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('publications', (t) => {
    t.dropColumn('publish_step');
  });
}
