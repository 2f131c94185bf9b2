import type { Knex } from 'knex';

/**
 * What ffprobe said of each generated clip (src/media/probe.ts's MediaProbe as JSON, with the
 * decoder-configuration hash), written when the clip lands, so a render reads it instead of
 * probing every clip again. Keyed by the clip's storage key, which is unique per generation and
 * scene; a render still probes a clip whose row is missing or whose size no longer matches.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('clip_probes', (t) => {
    t.string('file_key').primary();
    t.text('probe').notNullable();
    t.string('created_at').notNullable();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTableIfExists('clip_probes');
}
