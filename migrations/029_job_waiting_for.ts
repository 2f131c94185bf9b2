import type { Knex } from 'knex';

/**
 * What a job put back in the queue waits for, when it waits for a peer (the media store) rather
 * than for another try after its own failure. Clients read it as a scene's or a render's
 * `waiting`: without it a scene stayed "generating" for up to the whole outage window with no word
 * of why. Null for every other queued job; older code leaves it null, and a job it requeues after a
 * lease expiry keeps what was there until the job runs (src/jobs/waits.ts reads it only with a
 * last error and a later run time).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('jobs', (t) => {
    t.string('waiting_for', 40);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('jobs', (t) => {
    t.dropColumn('waiting_for');
  });
}
