/**
 * `lavendly backup` when it cannot write its copy: a full disk (a 1 MiB tmpfs), a read-only file
 * system, a name already taken, the live database as target, PostgreSQL. Each answers one
 * `lavendly: error:` line and exit code 1, and the target is never half written: absent, or (with
 * --force) the file that was there, byte for byte, and no temporary file left beside it.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

function io(env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { env, out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

/** Mounting a tmpfs in a mount namespace of its own needs root and util-linux's unshare. */
const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

/**
 * Runs `lavendly backup ARGS` in a private mount namespace where `dir` is a fresh tmpfs mounted
 * with `options`, after `prepare` (shell) ran there; returns the exit code, stderr and what the
 * tmpfs holds afterwards, byte counts included. The mount vanishes with the namespace.
 */
function backupOnTmpfs(dir: string, options: string, args: string[], env: NodeJS.ProcessEnv, prepare = '') {
  const cli = ['node', '--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'backup', ...args].map((a) => `'${a}'`).join(' ');
  const script = `mount -t tmpfs -o ${options} tmpfs '${dir}' && ${prepare}
${cli} >/dev/null 2>'${dir}.stderr'; echo "exit=$?"; cd '${dir}' && for f in $(ls -A); do echo "file=$f $(wc -c < "$f")"; done`;
  const child = spawn('unshare', ['-m', 'sh', '-c', script], { cwd: ROOT, env: { ...env, LAVENDLY_API_KEY: undefined }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += String(d); });
  child.stderr.on('data', (d) => { out += String(d); });
  return new Promise<{ code: number; stderr: string; files: string[] }>((resolve) => child.on('close', () => resolve({
    code: Number(out.match(/exit=(\d+)/)?.[1] ?? -1),
    stderr: fs.readFileSync(`${dir}.stderr`, 'utf8'),
    files: [...out.matchAll(/file=(.*)/g)].map((m) => m[1]!),
  })));
}

describe('lavendly backup cannot write its copy (sqlite)', () => {
  let fresh: FreshDb;
  let env: NodeJS.ProcessEnv;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-backup-fail-'));
  beforeAll(async () => {
    fresh = await freshDb('sqlite');
    env = { ...process.env, LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: '' };
    // About 4 MiB of rows, so the copy cannot fit on a 1 MiB tmpfs.
    const rows = Array.from({ length: 12_000 }, (_, i) => ({
      bucket: 'filler', subject: `${i}`.padEnd(255, 'x'), capacity: 1, per_ms: 1, tokens: 1, taken: 0, updated_ms: 0,
    }));
    for (let i = 0; i < rows.length; i += 500) await fresh.db('rate_limit_buckets').insert(rows.slice(i, i + 500));
  });
  afterAll(async () => {
    await fresh.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it.skipIf(!canMount)('a full disk: exit 1, one line naming it, nothing at the target and no temporary file', async () => {
    const dir = path.join(scratch, 'full');
    fs.mkdirSync(dir);
    const r = await backupOnTmpfs(dir, 'size=1m', ['--to', path.join(dir, 'copy.sqlite')], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lavendly: error: could not copy the database: the disk is full \(no space left for the copy\); nothing was written\n$/);
    expect(r.files).toEqual([]);
  }, 60_000);

  it.skipIf(!canMount)('a full disk with --force: the previous copy stays as it was', async () => {
    const dir = path.join(scratch, 'full-force');
    fs.mkdirSync(dir);
    const r = await backupOnTmpfs(dir, 'size=1m', ['--to', path.join(dir, 'copy.sqlite'), '--force'], env, `printf 'yesterday' > '${dir}/copy.sqlite' &&`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the disk is full/);
    expect(r.files).toEqual(['copy.sqlite 9']);
  }, 60_000);

  it.skipIf(!canMount)('a read-only file system: exit 1 and a line saying so', async () => {
    const dir = path.join(scratch, 'ro');
    fs.mkdirSync(dir);
    const r = await backupOnTmpfs(dir, 'ro,size=1m', ['--to', path.join(dir, 'copy.sqlite')], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`lavendly: error: cannot write in ${dir}: the file system is read-only (EROFS); nothing was written\n`);
    expect(r.files).toEqual([]);
  }, 60_000);

  it('refuses a name already taken (unless --force), the live database, and a missing directory', async () => {
    const target = path.join(scratch, 'taken.sqlite');
    fs.writeFileSync(target, 'yesterday');
    const taken = io(env);
    expect(await main(['backup', '--to', target], taken.io)).toBe(1);
    expect(taken.err).toEqual([`lavendly: error: ${target} already exists; pass --force to replace it`]);
    expect(fs.readFileSync(target, 'utf8')).toBe('yesterday');

    const live = io(env);
    const liveFile = path.join(fresh.dataDir, 'lavendly.sqlite');
    expect(await main(['backup', '--to', liveFile, '--force'], live.io)).toBe(1);
    expect(live.err).toEqual([`lavendly: error: ${liveFile} is the live database itself; write the backup somewhere else`]);
    expect(await fresh.db('rate_limit_buckets').count({ n: '*' }).first()).toEqual({ n: 12_000 });

    const missing = io(env);
    expect(await main(['backup', '--to', path.join(scratch, 'nope', 'copy.sqlite')], missing.io)).toBe(1);
    expect(missing.err).toEqual([`lavendly: error: the directory ${path.join(scratch, 'nope')} does not exist`]);

    const usage = io(env);
    expect(await main(['backup'], usage.io)).toBe(2);
    expect(usage.err[0]).toBe('lavendly: error: --to is required (the file to write the copy to)');

    const replaced = io(env);
    expect(await main(['backup', '--to', target, '--force'], replaced.io)).toBe(0);
    expect(replaced.out).toEqual([expect.stringMatching(new RegExp(`^wrote ${target}: [\\d.]+ MiB, integrity ok, \\d+ migrations \\(latest \\w+\\), copied from ${liveFile} in [\\d.]+ s$`))]);
    expect(fs.readdirSync(scratch).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);
  it('removes what a backup killed mid-copy left, once its process is gone and it is old, and nothing else', async () => {
    const dir = path.join(scratch, 'nightly');
    fs.mkdirSync(dir);
    const dead = spawnSync('true').pid!; // a pid whose process has exited
    const dayAgo = new Date(Date.now() - 24 * 3600_000);
    const leftover = (pid: number, suffix = '', old = true, hex = '0badc0de') => {
      const f = path.join(dir, `.copy.sqlite.${pid}-${hex}.tmp${suffix}`);
      fs.writeFileSync(f, 'half a copy');
      if (old) fs.utimesSync(f, dayAgo, dayAgo);
      return f;
    };
    const killed = [leftover(dead), leftover(dead, '-journal')];
    const kept = [
      leftover(process.pid), // its process still runs (a backup in progress)
      leftover(dead, '', false, '5eedf00d'), // written within the last hours: maybe another machine's
    ];
    fs.writeFileSync(path.join(dir, '.other.sqlite.1-0badc0de.tmp'), 'another target'); // not this target's
    const run = io(env);
    expect(await main(['backup', '--to', path.join(dir, 'copy.sqlite')], run.io)).toBe(0);
    expect(run.out.slice(0, 2).sort()).toEqual(killed.map((f) => `removed ${f}, left by a backup that was killed mid-copy`).sort());
    expect(fs.readdirSync(dir).sort()).toEqual([...kept.map((f) => path.basename(f)), '.other.sqlite.1-0badc0de.tmp', 'copy.sqlite'].sort());
  }, 60_000);
});

describe.each(testDatabases().filter((k) => k === 'postgres'))('lavendly backup on %s', (kind) => {
  it('says to use pg_dump, exits 1, writes nothing and does not print the URL', async () => {
    const fresh = await freshDb(kind);
    const target = path.join(fresh.dataDir, 'copy.sqlite');
    try {
      const r = io({ LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: fresh.databaseUrl! });
      expect(await main(['backup', '--to', target], r.io)).toBe(1);
      expect(r.err).toEqual([expect.stringMatching(/^lavendly: error: backup copies the embedded SQLite database, and DATABASE_URL points at PostgreSQL: use pg_dump instead .*; nothing was written$/)]);
      expect(r.err[0]).not.toContain(fresh.databaseUrl!);
      expect(fs.existsSync(target)).toBe(false);
    } finally {
      await fresh.close();
    }
  });
});
