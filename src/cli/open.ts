import { loadConfig, type Config } from '../config.js';
import { createDb, migrate, type Db } from '../db/knex.js';
import type { MigrationOutcome } from '../db/migration-log.js';

/** Config from the environment and a migrated database, for commands that touch data. */
export async function openData(env: NodeJS.ProcessEnv): Promise<{ config: Config; db: Db; migration: MigrationOutcome }> {
  const config = loadConfig(env);
  const db = createDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, dataDirIsDefault: config.dataDirIsDefault });
  try {
    return { config, db, migration: await migrate(db) };
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
}
