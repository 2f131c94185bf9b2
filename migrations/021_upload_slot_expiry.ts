import type { Knex } from 'knex';

/**
 * Upload slots by expiry: the server deletes slots that expired unused (or whose upload failed)
 * once a minute (src/assets/uploads.ts sweepExpiredSlots). Without an index that sweep would read
 * every slot ever made, completed ones included.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('upload_slots', (t) => {
    t.index(['expires_at'], 'upload_slots_by_expiry');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('upload_slots', (t) => {
    t.dropIndex(['expires_at'], 'upload_slots_by_expiry');
  });
}
