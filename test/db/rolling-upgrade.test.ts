// A rolling upgrade: the first process of a new release migrates the database while processes of
// the previous one keep running, one of them is restarted by its supervisor, and the operator may
// roll the binary back. The previous release (eacf8e6) knows migrations 001-019 and runs knex's
// migrate.latest over them, whose check refuses any name in knex_migrations it does not have
// ("The migration directory is corrupt"): every old process refused to start once a new one had
// migrated. `olderRelease` below is that call, as that release made it.
import { afterEach, describe, expect, it } from 'vitest';
import { compatibleWithOlderCode, migrations } from '../../migrations/index.js';
import { migrate, type Db } from '../../src/db/knex.js';
import { runWorker } from '../../src/jobs/worker-main.js';
import { sweepUnusedClients } from '../../src/oauth/clients.js';
import { runCli } from '../helpers/cli-run.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';

const PREVIOUS_RELEASE_LAST = '019_publications_by_workflow';

/** knex's own migrate.latest over the migrations up to `last`: what a release ending there runs at start. */
async function olderRelease(db: Db, last = PREVIOUS_RELEASE_LAST): Promise<void> {
  const names = Object.keys(migrations).sort().filter((n) => n <= last);
  await db.transaction(async (trx) => {
    await trx.migrate.latest({
      migrationSource: {
        getMigrations: async () => names,
        getMigrationName: (name: string) => name,
        getMigration: async (name: string) => migrations[name]!,
      },
    });
  });
}

const opened: FreshDb[] = [];
afterEach(async () => {
  for (const f of opened.splice(0)) await f.close();
});

async function database(kind: Parameters<typeof freshDb>[0]): Promise<FreshDb> {
  const f = await freshDb(kind, { migrated: false });
  opened.push(f);
  return f;
}

describe.each(testDatabases())('rolling upgrade on %s', (kind) => {
  it('a process of the previous release restarts on the database this one migrated, and may be rolled back to', async () => {
    const { db } = await database(kind);
    await olderRelease(db);
    await migrate(db);
    expect(await db.schema.hasColumn('publications', 'publish_step')).toBe(true);
    await olderRelease(db); // threw "The migration directory is corrupt, the following files are missing: 020_..."
    // Rolled forward again: nothing left to apply, nothing applied twice.
    await migrate(db);
    const recorded = [...await db('knex_migrations').pluck('name'), ...await db('lavendly_compatible_migrations').pluck('name')];
    expect(recorded.sort()).toEqual(Object.keys(migrations).sort());
  });

  it('a database a build before this split migrated is opened to the previous release too', async () => {
    const { db } = await database(kind);
    await olderRelease(db, '999'); // every migration recorded in knex_migrations, as knex did
    await migrate(db);
    expect((await db('lavendly_compatible_migrations').pluck('name')).sort()).toEqual([...compatibleWithOlderCode].sort());
    await olderRelease(db);
  });

  it('keeps the OAuth clients the previous release registered: it never recorded their use', async () => {
    const { db } = await database(kind);
    await olderRelease(db);
    // As that release registered a client (src/oauth/clients.ts before 022), two days ago.
    const registered = new Date(Date.now() - 2 * 86_400_000).toISOString();
    await db('oauth_clients').insert({ id: 'mcpc_before', client_name: 'Claude', redirect_uris: '["http://127.0.0.1:5/cb"]', created_at: registered });
    await migrate(db);
    expect(await sweepUnusedClients(db)).toBe(0); // deleted it: used_at was null
    expect(await db('oauth_clients').pluck('id')).toEqual(['mcpc_before']);
  });

  it('runs beside migrations a newer release marked compatible, and says which', async () => {
    const { db } = await database(kind);
    await migrate(db);
    await db('lavendly_compatible_migrations').insert({ name: '999_from_the_future', migration_time: new Date().toISOString() });
    expect(await migrate(db)).toEqual({ compatibleAhead: ['999_from_the_future'] });
    // A worker says so at start, so the operator sees which processes are left to upgrade.
    const warnings: string[] = [];
    const logger = { info: () => {}, error: () => {}, warn: (_: unknown, message: string) => { warnings.push(message); } };
    const running = await runWorker({ config: { databaseUrl: null, dataDir: '' }, db, migrate: true, handlers: {}, logger, sweepReservationsMs: null });
    await running.stop();
    expect(warnings).toEqual([expect.stringContaining('migrations of a newer Lavendly release (999_from_the_future)')]);
  });

  it('refuses a database a newer release migrated incompatibly: one line, exit code 3', async () => {
    const f = await database(kind);
    await migrate(f.db);
    await f.db('knex_migrations').insert({ name: '999_from_the_future', batch: 99, migration_time: new Date() });
    const env = { ...process.env, DATABASE_URL: f.databaseUrl ?? '', LAVENDLY_DATA_DIR: f.dataDir, LAVENDLY_SIGNING_SECRET: 'rolling-upgrade-test-secret' };
    for (const command of [['worker'], ['accounts', 'list']]) {
      const run = await runCli(command, env);
      expect([run.code, run.lines], command.join(' ')).toEqual([3, [
        'lavendly: error: the database was migrated by a newer version of Lavendly (it has migration 999_from_the_future, unknown to this one): run that version or a later one',
      ]]);
    }
  });
});
