import type { Knex } from 'knex';

/** The account's IANA time zone: where "9am tomorrow" is read (schedule_video's local_time). */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('accounts', (t) => {
    t.string('time_zone', 64).notNullable().defaultTo('UTC');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('accounts', (t) => {
    t.dropColumn('time_zone');
  });
}
