// Processes that start together on an empty database (compose.yaml: two APIs and three workers)
// all migrate at once. Each handle below has its own connections, as a separate process would.
// Before migrate() took a lock first, all but one failed with `relation "knex_migrations" already
// exists` (PostgreSQL) or `table knex_migrations already exists` (SQLite).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, migrate, type Db, type DbKind } from '../../src/db/knex.js';
import { testDatabases } from '../helpers/db.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** `count` handles on one empty database (nothing migrated). */
async function emptyDatabase(kind: DbKind, count: number): Promise<Db[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-migrate-race-'));
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  if (kind === 'sqlite') return open(count, () => createDb({ databaseUrl: null, dataDir }));
  const baseUrl = process.env.LAVENDLY_TEST_PG_URL!;
  const schema = `t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: baseUrl });
  await admin.raw(`create schema ${schema}`);
  cleanups.push(async () => { await admin.raw(`drop schema ${schema} cascade`); await admin.destroy(); });
  return open(count, () => createDb({ databaseUrl: baseUrl, dataDir, pgSchema: schema }));
}

async function open(count: number, make: () => Db): Promise<Db[]> {
  const dbs = Array.from({ length: count }, make);
  cleanups.push(async () => { await Promise.all(dbs.map((d) => d.destroy())); });
  await Promise.all(dbs.map((d) => d.raw('select 1'))); // connected, so the migrations start together
  return dbs;
}

describe.each(testDatabases())('migrate on %s', (kind) => {
  it('four processes migrating an empty database at once all succeed, and it is migrated once', async () => {
    const dbs = await emptyDatabase(kind, 4);
    const results = await Promise.allSettled(dbs.map((d) => migrate(d)));
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason).split('\n')[0] : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(await dbs[0]!('knex_migrations_lock').select('is_locked')).toEqual([{ is_locked: 0 }]);
    const applied: { name: string }[] = await dbs[0]!('knex_migrations').select('name');
    expect(new Set(applied.map((r) => r.name)).size).toBe(applied.length);
    // And again at once on the migrated database (a restart of the whole set): nothing to do, no failure.
    await Promise.all(dbs.map((d) => migrate(d)));
    const counted = await dbs[0]!('knex_migrations').count({ n: '*' }).first();
    expect(Number(counted?.n)).toBe(applied.length);
  });

  it('a database migrated by a newer version is refused with one line saying so', async () => {
    const [db] = await emptyDatabase(kind, 1);
    await migrate(db!);
    await db!('knex_migrations').insert({ name: '999_from_the_future', batch: 99, migration_time: new Date() });
    const err = await migrate(db!).then(() => null, (e: Error) => e);
    expect(err?.name).toBe('NewerSchemaError');
    expect(err?.message).toBe('the database was migrated by a newer version of Lavendly (it has migration 999_from_the_future, unknown to this one): run that version or a later one');
  });
});
