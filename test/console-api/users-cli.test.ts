import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/console-auth/passwords.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The real CLI entry with `input` on its standard input. */
function cli(args: string[], env: NodeJS.ProcessEnv, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += String(d); });
  child.stderr.on('data', (d) => { stderr += String(d); });
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  return new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); }));
}

describe.each(testDatabases())('lavendly users create on %s', (kind) => {
  let fresh: FreshDb;
  let s: TestServer;
  let account: { id: string };
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fresh = await freshDb(kind);
    s = await startTestServer(kind, { fresh });
    account = await s.account();
    env = fresh.databaseUrl ? { DATABASE_URL: fresh.databaseUrl, LAVENDLY_DATA_DIR: fresh.dataDir } : { LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: '' };
  });
  afterAll(async () => {
    await s.close();
    await fresh.close();
  });

  it('reads the password from standard input, stores only its scrypt hash, and the user can sign in', async () => {
    const r = await cli(['users', 'create', '--account', account.id, '--email', 'Cleo@Example.org', '--json'], env, 'a long enough secret\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ account_id: account.id, email: 'cleo@example.org', user_id: expect.stringMatching(/^usr_/) });
    const row = await fresh.db('users').where({ id: out.user_id }).first();
    expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(row.password_hash).not.toContain('a long enough secret');
    expect(await verifyPassword('a long enough secret', row.password_hash)).toBe(true);
    const signIn = await call(`${s.origin}/auth/sign-in`, { body: { email: 'cleo@example.org', password: 'a long enough secret' } });
    expect(signIn.status).toBe(200);
    expect(signIn.json.account_id).toBe(account.id);
  }, 120_000);

  it('refuses a taken email, an unknown account, a short or missing password, and a missing flag', async () => {
    // Each is a whole CLI process, so they run side by side, except the two that open the database
    // (two processes migrating at once would contend for the migration lock).
    const [[taken, unknown], short, empty, noEmail] = await Promise.all([
      (async () => [
        await cli(['users', 'create', '--account', account.id, '--email', 'CLEO@example.org'], env, 'another long secret'),
        await cli(['users', 'create', '--account', 'acc_nope', '--email', 'dan@example.org'], env, 'a long enough secret'),
      ])(),
      cli(['users', 'create', '--account', account.id, '--email', 'dan@example.org'], env, 'short'),
      cli(['users', 'create', '--account', account.id, '--email', 'dan@example.org'], env, ''),
      cli(['users', 'create', '--account', account.id], env, 'a long enough secret'),
    ]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already exists/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No account with id acc_nope/);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/10 to 1024 characters/);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/no password on standard input/);
    expect(noEmail.code).toBe(2);
    expect(await fresh.db('users').where({ email: 'dan@example.org' }).first()).toBeUndefined();
  }, 240_000);
});
