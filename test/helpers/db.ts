import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { createDb, migrate, type Db, type DbKind } from '../../src/db/knex.js';

/** The databases this run tests on: SQLite always, PostgreSQL when `npm test` started one. */
export function testDatabases(): DbKind[] {
  return process.env.LAVENDLY_TEST_PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface FreshDb {
  db: Db;
  kind: DbKind;
  /** What a second process needs to open the same database (DATABASE_URL or data dir + file). */
  databaseUrl: string | null;
  dataDir: string;
  pgSchema?: string;
  close(): Promise<void>;
}

/**
 * A migrated database of its own: a new SQLite file, or a new PostgreSQL schema. With
 * `migrated: false` it is left empty, for a test to bring it to an older release's level.
 */
export async function freshDb(kind: DbKind, { migrated = true }: { migrated?: boolean } = {}): Promise<FreshDb> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-test-'));
  if (kind === 'sqlite') {
    const db = createDb({ databaseUrl: null, dataDir });
    if (migrated) await migrate(db);
    return {
      db, kind, databaseUrl: null, dataDir,
      async close() { await db.destroy(); fs.rmSync(dataDir, { recursive: true, force: true }); },
    };
  }
  const baseUrl = process.env.LAVENDLY_TEST_PG_URL;
  if (!baseUrl) throw new Error('LAVENDLY_TEST_PG_URL is not set');
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: baseUrl });
  await admin.raw(`create schema ${schema}`);
  await admin.destroy();
  // The schema rides in the URL's search path, so child processes given this URL see it too.
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const db = createDb({ databaseUrl: url.toString(), dataDir, pgSchema: schema });
  if (migrated) await migrate(db);
  return {
    db, kind, databaseUrl: url.toString(), dataDir, pgSchema: schema,
    async close() {
      await db.raw(`drop schema ${schema} cascade`);
      await db.destroy();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
