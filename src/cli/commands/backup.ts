import path from 'node:path';
import { loadConfig } from '../../config.js';
import { SQLITE_FILE } from '../../db/knex.js';
import { backupSqlite } from '../../db/sqlite-backup.js';
import { parseFlags, UsageError, type Command } from '../command.js';

/**
 * `lavendly backup --to FILE`: a consistent copy of the embedded SQLite database while the
 * server runs (src/db/sqlite-backup.ts says how). It opens the database without migrating it, so
 * a backup taken with a new release's binary before an upgrade is of the old schema, as found.
 */
export const backupCommand: Command = {
  name: 'backup',
  summary: 'Copy the SQLite database while the server runs (checked, written atomically).',
  usage: 'lavendly backup --to FILE [--force] [--json]',
  async run(args, io) {
    const values = parseFlags(args, { to: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } });
    if (!values.to?.trim()) throw new UsageError('--to is required (the file to write the copy to)');
    // Decoded as UTF-8 like the environment: another byte would name another file (see pathSetting).
    if (values.to.includes('\uFFFD')) throw new UsageError('--to is not valid UTF-8: name the file in UTF-8');
    const config = loadConfig(io.env);
    if (config.databaseUrl) {
      // Not a usage mistake: the command is right, this deployment's database is not one it copies.
      throw new Error('backup copies the embedded SQLite database, and DATABASE_URL points at PostgreSQL: use pg_dump instead (pg_dump --format=custom --file=FILE "$DATABASE_URL"); nothing was written');
    }
    const source = path.join(config.dataDir, SQLITE_FILE);
    const r = backupSqlite(source, values.to, { overwrite: values.force ?? false });
    const latest = r.migrations.at(-1) ?? 'none';
    if (values.json) {
      io.out(JSON.stringify({
        file: r.target, bytes: r.bytes, integrity: 'ok', migrations: r.migrations.length, latest_migration: latest,
        pending_migrations: r.pendingMigrations, unknown_migrations: r.unknownMigrations, source, seconds: Number(r.seconds.toFixed(3)),
        removed_leftovers: r.removedLeftovers,
      }));
    } else {
      const level = r.unknownMigrations.length ? ', from a newer release'
        : r.pendingMigrations.length ? `, ${r.pendingMigrations.length} behind this release` : '';
      for (const f of r.removedLeftovers) io.out(`removed ${f}, left by a backup that was killed mid-copy`);
      io.out(`wrote ${r.target}: ${mb(r.bytes)}, integrity ok, ${r.migrations.length} migrations (latest ${latest}${level}), copied from ${source} in ${r.seconds.toFixed(2)} s`);
    }
    return 0;
  },
};

function mb(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
