/**
 * Stored clip probes (migration 016): the generation writes what ffprobe said of a clip when the
 * clip lands, and a render reads it back instead of probing the clip again.
 */
import type { Knex } from 'knex';
import { nowIso } from '../db/knex.js';
import type { MediaProbe } from '../media/index.js';

export async function saveClipProbe(trx: Knex, fileKey: string, probe: MediaProbe): Promise<void> {
  await trx('clip_probes')
    .insert({ file_key: fileKey, probe: JSON.stringify(probe), created_at: nowIso() })
    .onConflict('file_key')
    .merge(['probe', 'created_at']);
}

/** The stored probes of these clips, by key; a clip without one (or with an unreadable one) is left out. */
export async function loadClipProbes(db: Knex, fileKeys: string[]): Promise<Map<string, MediaProbe>> {
  const found = new Map<string, MediaProbe>();
  if (!fileKeys.length) return found;
  const rows = (await db('clip_probes').whereIn('file_key', [...new Set(fileKeys)]).select('file_key', 'probe')) as { file_key: string; probe: string }[];
  for (const row of rows) {
    try {
      found.set(row.file_key, JSON.parse(row.probe) as MediaProbe);
    } catch {
      // Unreadable: the render probes that clip itself.
    }
  }
  return found;
}
