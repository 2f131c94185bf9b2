/**
 * An online copy of the embedded SQLite database, taken while `serve` and `worker` keep writing.
 *
 * `VACUUM INTO` rather than the online backup API (sqlite3_backup_step, better-sqlite3's
 * `db.backup()`): the backup API copies a few pages per step and starts over whenever another
 * connection writes between two steps, so against a busy `serve` it may never finish (or, with
 * every page in one step, it is no better than VACUUM INTO). VACUUM INTO reads the whole database
 * inside one read transaction: one snapshot by construction, and in WAL mode a reader takes no
 * lock that writers wait for; the only cost to them is that the WAL cannot start over while the
 * copy runs, so it grows by what is written meanwhile. The copy is compacted (no free pages) and
 * self-contained (rollback journal mode, no -wal beside it); the price is CPU to rebuild the
 * indexes and no progress report (bench/backup.ts measures both ways).
 *
 * The copy goes to a temporary file beside the target, is checked (integrity_check, the
 * migration records), fsynced (VACUUM INTO does not sync its output), and only then appears
 * under the target's name, by link (refuses an existing file, atomically) or, with `overwrite`,
 * by rename. A failure at any point removes the temporary file: the target is never half written.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from '../../migrations/index.js';

export interface BackupResult {
  target: string;
  bytes: number;
  /** Migrations recorded in the copy, sorted (the last is the schema's level). */
  migrations: string[];
  /** Of those, the ones this release does not know (the copy comes from a newer release). */
  unknownMigrations: string[];
  /** This release's migrations the copy lacks (a server of this release applies them on start). */
  pendingMigrations: string[];
  seconds: number;
  /** Temporary files of earlier backups to this name that were killed mid-copy, now removed. */
  removedLeftovers: string[];
}

/** A failure the operator fixes from the message alone (printed as one line, exit code 1). */
export class BackupError extends Error {}

/** How long the copy's read transaction waits for a lock another process holds at that instant. */
const BUSY_TIMEOUT_MS = 10_000;

export function backupSqlite(source: string, target: string, options: { overwrite?: boolean } = {}): BackupResult {
  const started = process.hrtime.bigint();
  target = path.resolve(target);
  checkTarget(source, target, options.overwrite ?? false);
  if (!fs.existsSync(source)) throw new BackupError(`there is no database at ${source} (check LAVENDLY_DATA_DIR)`);
  const removedLeftovers = removeLeftovers(target);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    // Made empty first (VACUUM INTO accepts an empty file) so the copy, which holds key hashes
    // and sealed channel credentials, is readable by its owner only, whatever the umask.
    fs.writeFileSync(temp, '', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    throw new BackupError(`cannot write in ${path.dirname(target)}: ${reason(err)}; nothing was written`);
  }
  try {
    copy(source, temp);
    const recorded = check(temp);
    syncFile(temp);
    publish(temp, target, options.overwrite ?? false);
    syncDir(path.dirname(target));
    const known = Object.keys(migrations);
    return {
      target,
      bytes: fs.statSync(target).size,
      migrations: recorded,
      unknownMigrations: recorded.filter((m) => !(m in migrations)),
      pendingMigrations: known.filter((m) => !recorded.includes(m)).sort(),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      removedLeftovers,
    };
  } catch (err) {
    // VACUUM INTO writes the copy under a rollback journal of its own, beside it.
    for (const f of [temp, `${temp}-journal`]) fs.rmSync(f, { force: true });
    if (err instanceof BackupError) throw err;
    throw new BackupError(`${reason(err)}; nothing was written at ${target}`);
  }
}

/** A leftover must be at least this old as well as its process gone (see removeLeftovers). */
const LEFTOVER_AGE_MS = 12 * 3600_000;

/**
 * A backup killed mid-copy (kill -9, a reboot) leaves its temporary file, as large as the
 * database, beside the target; a nightly backup to the same name would pile them up. Removed here:
 * temporary files of this target whose process is not running on this machine and that nobody
 * wrote for LEFTOVER_AGE_MS. The age guards a backup running on another machine on a shared
 * volume, whose pid means nothing here; the copy rewrites its file all along, and the check after
 * it (a read) takes minutes, not hours.
 */
function removeLeftovers(target: string): string[] {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed; // a directory we may write in but not list: nothing to tidy that we can see
  }
  for (const name of names) {
    const pid = name.startsWith(prefix) ? Number(/^(\d+)-[0-9a-f]{8}\.tmp(-journal)?$/.exec(name.slice(prefix.length))?.[1]) : 0;
    if (!pid || processRuns(pid)) continue;
    const file = path.join(dir, name);
    try {
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      if (!stat?.isFile() || Date.now() - stat.mtimeMs < LEFTOVER_AGE_MS) continue;
      fs.rmSync(file, { force: true });
      removed.push(file);
    } catch {
      // Another user's leftover in a shared directory: not ours to remove, and no reason to fail.
    }
  }
  return removed;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // runs, as another user
  }
}

function checkTarget(source: string, target: string, overwrite: boolean): void {
  const live = [source, `${source}-wal`, `${source}-shm`, `${source}-journal`];
  const existing = fs.statSync(target, { throwIfNoEntry: false });
  const sourceStat = fs.statSync(source, { throwIfNoEntry: false });
  if (live.includes(target) || (existing && sourceStat && existing.ino === sourceStat.ino && existing.dev === sourceStat.dev)) {
    throw new BackupError(`${target} is the live database itself; write the backup somewhere else`);
  }
  const dir = fs.statSync(path.dirname(target), { throwIfNoEntry: false });
  if (!dir) throw new BackupError(`the directory ${path.dirname(target)} does not exist`);
  if (!dir.isDirectory()) throw new BackupError(`${path.dirname(target)} is not a directory`);
  if (existing?.isDirectory()) throw new BackupError(`${target} is a directory; give a file name`);
  if (existing && !overwrite) throw new BackupError(`${target} already exists; pass --force to replace it`);
}

function copy(source: string, temp: string): void {
  let db: Database.Database;
  try {
    db = new Database(source, { fileMustExist: true });
  } catch (err) {
    throw new BackupError(`cannot open the database ${source}: ${reason(err)}`);
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const hasMigrations = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'knex_migrations'").get();
    if (!hasMigrations) throw new BackupError(`${source} is not a Lavendly database (it has no migration records)`);
    db.prepare('VACUUM INTO ?').run(temp);
  } catch (err) {
    if (err instanceof BackupError) throw err;
    throw new BackupError(`could not copy the database: ${reason(err)}; nothing was written`);
  } finally {
    db.close();
  }
}

/** Opens the copy on its own and returns its migration records, or throws what is wrong with it. */
function check(temp: string): string[] {
  const db = new Database(temp, { readonly: true, fileMustExist: true });
  try {
    const problems = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
    if (problems.join() !== 'ok') throw new BackupError(`the copy failed integrity_check (${problems.slice(0, 3).join('; ')}); nothing was written`);
    const strict = db.prepare('select name from knex_migrations').pluck().all() as string[];
    const hasCompatible = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'lavendly_compatible_migrations'").get();
    const compatible = hasCompatible ? (db.prepare('select name from lavendly_compatible_migrations').pluck().all() as string[]) : [];
    return [...strict, ...compatible].sort();
  } finally {
    db.close();
  }
}

/**
 * Puts the checked copy under the target's name in one step. Without `overwrite`, a hard link:
 * it fails if the name was taken meanwhile instead of replacing it. File systems without hard
 * links get a check, then a rename.
 */
function publish(temp: string, target: string, overwrite: boolean): void {
  if (overwrite) {
    fs.renameSync(temp, target);
    return;
  }
  try {
    fs.linkSync(temp, target);
    fs.rmSync(temp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new BackupError(`${target} already exists; pass --force to replace it`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    if (fs.existsSync(target)) throw new BackupError(`${target} already exists; pass --force to replace it`);
    fs.renameSync(temp, target);
  }
}

function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes the new name durable. Some file systems cannot fsync a directory; the file itself is synced. */
function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // EINVAL/EISDIR on some file systems: nothing more can be done there.
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'SQLITE_FULL' || e?.code === 'ENOSPC') return 'the disk is full (no space left for the copy)';
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return `permission denied (${e.code})`;
  if (e?.code === 'EROFS') return 'the file system is read-only (EROFS)';
  return e?.message ?? String(err);
}
