import type { Knex } from 'knex';

/** `workflows.video_model`: the wired video model a workflow chose (`runway:gen4_turbo`); null = the default. */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('workflows', (t) => {
    t.string('video_model', 200);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('workflows', (t) => {
    t.dropColumn('video_model');
  });
}
