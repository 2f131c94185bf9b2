import type { Knex } from 'knex';

/**
 * `generation_scenes.provider_task`: the hosted model's task a scene's current step is waiting
 * for (`{"step":"video","model":"runway:gen4_turbo","id":"..."}`), written before the worker waits
 * on it, so that a run after a crash polls the same task instead of paying for a second one.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('generation_scenes', (t) => {
    t.text('provider_task');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('generation_scenes', (t) => {
    t.dropColumn('provider_task');
  });
}
