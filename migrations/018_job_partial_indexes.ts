import type { Knex } from 'knex';

/**
 * The queue's indexes cover only the jobs they are looked up for: queued jobs by due time (the
 * claim, the wake probe) and running jobs by lease expiry (the reaper). The old (status, run_at)
 * and (status, lease_expires_at) indexes held every job ever run, and every state change moved a
 * job's entry in both (a delete and an insert each): a claim and a completion wrote about ten
 * B-tree pages to the SQLite WAL. Now a claim moves one entry from one small index to the other
 * and a completion only deletes one, and finished jobs cost the indexes nothing.
 * Plain SQL: SQLite and PostgreSQL both take `create index ... where`.
 */
export async function up(db: Knex): Promise<void> {
  await db.raw('drop index if exists "jobs_status_run_at_index"');
  await db.raw('drop index if exists "jobs_status_lease_expires_at_index"');
  await db.raw('create index "jobs_queued_due" on "jobs" ("run_at", "id") where "status" = \'queued\'');
  await db.raw('create index "jobs_running_lease" on "jobs" ("lease_expires_at") where "status" = \'running\'');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop index if exists "jobs_queued_due"');
  await db.raw('drop index if exists "jobs_running_lease"');
  await db.schema.alterTable('jobs', (t) => {
    t.index(['status', 'run_at']);
    t.index(['status', 'lease_expires_at']);
  });
}
