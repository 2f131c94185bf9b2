import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config.js';

/**
 * Creates the data directory (LAVENDLY_DATA_DIR) if it is missing and checks that this process can
 * write there, and to the SQLite file `filename` in it if given. Otherwise
 * the operator got SQLite's "unable to open database file" (or mkdir's EEXIST), which names
 * neither the directory nor the setting.
 *
 * What it creates is for this user alone (directory 0700, database 0600), whatever the umask:
 * the database holds webhook signing secrets in clear, and SQLite made it 0644 under the usual
 * umask 022 (so any local user could read them) and the directory 0777 under umask 000. SQLite
 * gives its -wal and -shm files the database's mode. An existing directory or file keeps its mode.
 */
export function prepareDataDir(dir: string, filename?: string, isDefault = false): void {
  const unusable = (why: string) => new ConfigError(isDefault ? defaultUnusable(dir, why) : `LAVENDLY_DATA_DIR ${dir} cannot be used: ${why}`);
  const notWritable = `it is not writable by this user (uid ${process.getuid?.() ?? '?'})`;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw unusable('a file is in the way (it must be a directory)');
    throw unusable(code === 'EACCES' || code === 'EROFS' ? `it cannot be created: ${code}` : (err as Error).message);
  }
  // SQLite writes its journal (-wal, -shm) beside the file, so the directory must be writable too.
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw unusable(notWritable);
  }
  if (!filename) return;
  const existing = fs.statSync(filename, { throwIfNoEntry: false });
  if (existing && !existing.isFile()) throw unusable(`${path.basename(filename)} there is not a file`);
  if (existing) {
    try {
      fs.accessSync(filename, fs.constants.R_OK | fs.constants.W_OK);
    } catch {
      throw unusable(`${path.basename(filename)} ${notWritable}`);
    }
    return;
  }
  // An empty file is a new database to SQLite; 'wx' leaves one another process made meanwhile alone.
  try {
    fs.closeSync(fs.openSync(filename, 'wx', 0o600));
    giveToDataDirOwner(dir, [filename]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(`${path.basename(filename)} cannot be created: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The operator set no LAVENDLY_DATA_DIR: naming the setting with a path they never gave ("LAVENDLY_DATA_DIR
 * /opt/lavendly/data cannot be used") sent them looking for where it was set. Say it is the default and
 * how to choose another.
 */
function defaultUnusable(dir: string, why: string): string {
  return `the default data directory ./data under the current directory (${dir}) cannot be used: ${why}. `
    + 'LAVENDLY_DATA_DIR is not set; set it to a directory this user can write (e.g. LAVENDLY_DATA_DIR=/var/lib/lavendly), or start from a directory where ./data can be created';
}

/**
 * Root running a command (`sudo lavendly channels connect ...`) in a data directory that belongs
 * to the user the server runs as: what it creates there goes to that user. Left to root (0600),
 * the server could not read it: EACCES on secrets/credentials.key, and no channel could publish.
 */
export function giveToDataDirOwner(dataDir: string, created: string[]): void {
  if (process.getuid?.() !== 0) return;
  const owner = fs.statSync(dataDir, { throwIfNoEntry: false });
  if (!owner || owner.uid === 0) return;
  for (const p of created) fs.chownSync(p, owner.uid, owner.gid);
}
