import type { Knex } from 'knex';

/**
 * The W3C traceparent of the span that enqueued a job (null when tracing was off), so the job's
 * run can link back to the request that asked for it (src/telemetry).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('jobs', (t) => {
    t.string('trace_context');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('jobs', (t) => {
    t.dropColumn('trace_context');
  });
}
