import type { Knex } from 'knex';
import { compatibleWithOlderCode, migrations } from '../../migrations/index.js';

/**
 * Where applied migrations are recorded, and which ones a release may run without.
 *
 * During a rolling upgrade the first new process migrates while old processes keep running, and
 * an old one restarted by its supervisor (or an old binary rolled back to) opens the migrated
 * database. Every release runs knex's check that each name in `knex_migrations` is a migration it
 * has ("the migration directory is corrupt"), so one row from a newer release kept every older
 * process from starting. So a migration that older code runs correctly beside (a new index, a new
 * nullable column: migrations/index.ts lists them) is recorded in a table of its own, which older
 * releases never read; `knex_migrations` keeps the ones older code cannot run beside, and those
 * keep older processes out. The knex layout of `knex_migrations` (and its lock table, which knex
 * in older releases locks) is kept so any release's knex reads it.
 */
const KNEX_TABLE = 'knex_migrations';
const KNEX_LOCK_TABLE = 'knex_migrations_lock';
const COMPATIBLE_TABLE = 'lavendly_compatible_migrations';

/**
 * The database has migrations this release does not know and cannot run beside. (Not a
 * ConfigError: config.ts is imported through this module's importers, a cycle at load time.)
 */
export class NewerSchemaError extends Error {
  constructor(names: string[]) {
    super(`the database was migrated by a newer version of Lavendly (it has migration ${names.join(', ')}, unknown to this one): run that version or a later one`);
    this.name = 'NewerSchemaError';
  }
}

/** What a run found beyond this release: migrations from a newer one that it runs beside. */
export interface MigrationOutcome {
  compatibleAhead: string[];
}

/**
 * What a process says at start when it runs beside a newer release's compatible migrations (a
 * rolling upgrade under way, or a rollback): the operator sees which processes are left to
 * upgrade. Null when there are none.
 */
export function runningBesideNewer(outcome: MigrationOutcome): string | null {
  if (!outcome.compatibleAhead.length) return null;
  return `this database has migrations of a newer Lavendly release (${outcome.compatibleAhead.join(', ')}), which this one runs beside; upgrade this process`;
}

/** Applies this release's pending migrations inside `trx` (which holds the migration lock). */
export async function applyMigrations(trx: Knex.Transaction): Promise<MigrationOutcome> {
  await ensureTables(trx);
  await moveCompatibleRows(trx);
  const strict: string[] = await trx(KNEX_TABLE).pluck('name');
  const compatible: string[] = await trx(COMPATIBLE_TABLE).pluck('name');
  const unknownStrict = strict.filter((n) => !(n in migrations));
  if (unknownStrict.length) throw new NewerSchemaError(unknownStrict);
  const applied = new Set([...strict, ...compatible]);
  const pending = Object.keys(migrations).sort().filter((n) => !applied.has(n));
  const batch = Number((await trx(KNEX_TABLE).max({ b: 'batch' }).first())?.b ?? 0) + 1;
  for (const name of pending) {
    await migrations[name]!.up(trx);
    if (compatibleWithOlderCode.has(name)) await trx(COMPATIBLE_TABLE).insert({ name, migration_time: new Date().toISOString() });
    else await trx(KNEX_TABLE).insert({ name, batch, migration_time: new Date() });
  }
  return { compatibleAhead: compatible.filter((n) => !(n in migrations)) };
}

/** knex's own tables as knex creates them (migrate/table-creator.js), and ours. */
async function ensureTables(trx: Knex.Transaction): Promise<void> {
  if (!(await trx.schema.hasTable(KNEX_TABLE))) {
    await trx.schema.createTable(KNEX_TABLE, (t) => {
      t.increments();
      t.string('name');
      t.integer('batch');
      t.timestamp('migration_time');
    });
  }
  if (!(await trx.schema.hasTable(KNEX_LOCK_TABLE))) {
    await trx.schema.createTable(KNEX_LOCK_TABLE, (t) => {
      t.increments('index').primary();
      t.integer('is_locked');
    });
  }
  if (!(await trx(KNEX_LOCK_TABLE).first())) await trx(KNEX_LOCK_TABLE).insert({ is_locked: 0 });
  if (!(await trx.schema.hasTable(COMPATIBLE_TABLE))) {
    await trx.schema.createTable(COMPATIBLE_TABLE, (t) => {
      t.string('name', 255).primary();
      t.string('migration_time').notNullable();
    });
  }
}

/**
 * Builds before this table existed recorded every migration in `knex_migrations`; the compatible
 * ones move over, so an older binary can be rolled back to on those databases too.
 */
async function moveCompatibleRows(trx: Knex.Transaction): Promise<void> {
  const rows: { name: string; migration_time: unknown }[] = await trx(KNEX_TABLE).whereIn('name', [...compatibleWithOlderCode]).select('name', 'migration_time');
  if (!rows.length) return;
  await trx(COMPATIBLE_TABLE).insert(rows.map((r) => ({ name: r.name, migration_time: new Date(r.migration_time as string | number).toISOString() })));
  await trx(KNEX_TABLE).whereIn('name', rows.map((r) => r.name)).delete();
}
