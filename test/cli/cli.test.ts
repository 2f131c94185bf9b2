import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { commands, main } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli-run.js';
import { startServe } from '../../src/cli/commands/serve.js';
import { createLogger } from '../../src/http/logging.js';
import { freshDb, testDatabases } from '../helpers/db.js';
import { call } from '../helpers/server.js';
import { Writable } from 'node:stream';

const run = promisify(execFile);
const bin = path.resolve('bin/lavendly.mjs');

function io(env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { env, out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

/** A logger whose lines land in `lines` (the banner goes through the logger). */
function capturing(lines: string[]) {
  return createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => { lines.push(String(c)); cb(); } }) });
}

describe.each(testDatabases())('lavendly CLI on %s', (kind) => {
  it('serve creates a development account once, and the CLI manages keys the server honours', async () => {
    const fresh = await freshDb(kind);
    const env = { LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: fresh.databaseUrl ?? '', LAVENDLY_AUTH_CACHE_MS: '0' };
    try {
      const first = io(env);
      const firstLog: string[] = [];
      const s1 = await startServe(first.io, { port: 0, logger: capturing(firstLog) });
      expect(s1.devKey).toMatch(/^lvd_/);
      // The key goes to people (stderr) once; the log says the account was made, without the key.
      expect(first.err.join('\n')).toMatch(/^Created development account acc_\S+ with 1000 credits\.\n/);
      expect(first.err.join('\n')).toContain(`export LAVENDLY_API_KEY=${s1.devKey}`);
      expect(first.out).toEqual([]);
      const banner = firstLog.map((l) => JSON.parse(l)).find((l) => /development account/.test(l.msg));
      expect(banner).toMatchObject({ credits: 1000, account_id: expect.stringMatching(/^acc_/) });
      expect(firstLog.join('\n')).not.toContain(s1.devKey!);
      const base = `${s1.running.origin}/v1`;
      const list = await call(`${base}/workflows`, { key: s1.devKey! });
      expect(list.status).toBe(200);

      const created = io(env);
      expect(await main(['accounts', 'create', '--name', 'Ops', '--credits', '25', '--scopes', 'admin', '--json'], created.io)).toBe(0);
      const acct = JSON.parse(created.out[0]!);
      expect(acct).toMatchObject({ name: 'Ops', credits: 25, scopes: ['admin'], api_key: expect.stringMatching(/^lvd_/) });
      expect((await call(`${base}/workflows`, { key: acct.api_key })).status).toBe(200);
      const balance = await s1.ctx.db('balances').where({ account_id: acct.account_id }).first();
      expect(Number(balance.balance)).toBe(25);

      const second = io(env);
      expect(await main(['keys', 'create', '--account', acct.account_id, '--json'], second.io)).toBe(0);
      const key2 = JSON.parse(second.out[0]!);
      expect((await call(`${base}/workflows`, { key: key2.api_key })).status).toBe(200);
      const revoked = io(env);
      expect(await main(['keys', 'revoke', '--key-id', key2.key_id, '--json'], revoked.io)).toBe(0);
      expect(JSON.parse(revoked.out[0]!)).toEqual({ key_id: key2.key_id, revoked: true });
      expect((await call(`${base}/workflows`, { key: key2.api_key })).status).toBe(401);
      expect((await call(`${base}/workflows`, { key: acct.api_key })).status).toBe(200);

      await s1.running.close();
      const again = io(env);
      const againLog: string[] = [];
      const s2 = await startServe(again.io, { port: 0, logger: capturing(againLog) });
      expect(s2.devKey).toBeNull();
      expect(againLog.join('\n')).not.toContain('lvd_');
      await s2.running.close();
    } finally {
      await fresh.close();
    }
  });
});

describe('lavendly CLI usage', () => {
  it('prints help, rejects unknown commands and missing flags with exit code 2', async () => {
    const h = io({});
    expect(await main(['--help'], h.io)).toBe(0);
    expect(h.out.join('\n')).toContain('accounts create');
    expect(h.out.join('\n')).toContain('accounts list');
    const u = io({});
    expect(await main(['nope'], u.io)).toBe(2);
    expect(u.err[0]).toBe("lavendly: error: unknown command 'nope'");
    const m = io({ LAVENDLY_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-cli-')) });
    expect(await main(['accounts', 'create', '--credits', 'x', '--name', 'n'], m.io)).toBe(2);
    expect(await main(['keys', 'revoke'], m.io)).toBe(2);
    expect(await main(['accounts', 'create', '--name', 'n', '--bogus'], m.io)).toBe(2);
    expect(await main(['serve', '--port', 'abc'], m.io)).toBe(2);
    expect(await main(['accounts', 'create', '--name', 'n', '--credits', '99999999999999999999'], m.io)).toBe(2);
    expect(await main(['keys', 'revoke', '--key-id', 'key_nope'], m.io)).toBe(1);
    // Every error line has the same prefix; each is followed by the command's usage.
    expect(m.err.filter((l) => !l.startsWith('Usage: '))).toEqual([
      'lavendly: error: --credits must be a whole number from 0 to 9007199254740991 (got x)',
      'lavendly: error: --key-id is required',
      expect.stringMatching(/^lavendly: error: Unknown option '--bogus'/),
      "lavendly: error: --port must be a port number from 0 to 65535 (got 'abc')",
      'lavendly: error: --credits must be a whole number from 0 to 9007199254740991 (got 99999999999999999999)',
      'lavendly: error: no key with id key_nope',
    ]);
    expect(m.out).toEqual([]);
    expect(m.err.filter((l) => l.startsWith('Usage: '))).toHaveLength(5);
  });

  it('the bin launcher runs from a checkout', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-bin-'));
    const { stdout } = await run(process.execPath, [bin, 'accounts', 'create', '--name', 'Bin', '--json'], {
      env: { ...process.env, LAVENDLY_DATA_DIR: dir, DATABASE_URL: '' },
    });
    expect(JSON.parse(stdout)).toMatchObject({ name: 'Bin', credits: 0 });
    const { stdout: revoke } = await run(process.execPath, [bin, 'keys', 'revoke', '--key-id', JSON.parse(stdout).key_id], {
      env: { ...process.env, LAVENDLY_DATA_DIR: dir, DATABASE_URL: '' },
    });
    expect(revoke).toContain('revoked');
    // From another directory too: tsx once looked for the tsconfig (its path mapping of
    // @lavendly/framework) in the current directory and the launcher died with ERR_MODULE_NOT_FOUND.
    const { stdout: listed } = await run(process.execPath, [bin, 'accounts', 'list', '--json'], {
      cwd: os.tmpdir(), env: { ...process.env, LAVENDLY_DATA_DIR: dir, DATABASE_URL: '' },
    });
    expect(JSON.parse(listed)).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('groups, --help on every command, --version and accounts list', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-cli-'));
    const env = { ...process.env, LAVENDLY_DATA_DIR: dir, DATABASE_URL: '' };
    try {
      // Spawned: the program entry, its output and its exit codes.
      const group = await runCli(['accounts', '--help'], env);
      expect(group.code).toBe(0);
      expect(group.stdout).toMatch(/Usage: lavendly accounts <command>/);
      expect(group.stdout).toContain('accounts create');
      expect(group.stdout).toContain('accounts list');
      const version = await runCli(['--version'], env);
      expect(version).toMatchObject({ code: 0, stdout: `${JSON.parse(fs.readFileSync('package.json', 'utf8')).version}\n` });
      const wrong = await runCli(['channels', 'disconnect'], env);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr.split('\n')[0]).toBe("lavendly: error: unknown command 'channels disconnect'");
      expect(wrong.stderr).toContain('channels connect');

      const bare = io(env);
      expect(await main(['keys'], bare.io)).toBe(2);
      expect(bare.err[0]).toBe("lavendly: error: 'keys' needs a command");
      for (const c of commands) {
        const h = io(env);
        expect(await main([...c.name.split(' '), '--help'], h.io), c.name).toBe(0);
        expect(h.out.join('\n'), c.name).toContain(`Usage: lavendly ${c.name}`);
      }
      const empty = io(env);
      expect(await main(['accounts', 'list'], empty.io)).toBe(0);
      // It says where it looked: a default or relative data dir follows the current directory.
      expect(empty.out[0]!.startsWith(`no accounts yet in the SQLite database in ${dir} (`)).toBe(true);
      const created = io(env);
      await main(['accounts', 'create', '--name', 'Ops team', '--credits', '7', '--json'], created.io);
      const acct = JSON.parse(created.out[0]!);
      const listed = await runCli(['accounts', 'list'], env);
      expect(listed.code).toBe(0);
      expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+CREDITS\s+RESERVED\s+KEYS\s+CREATED$/);
      expect(listed.stdout).toMatch(new RegExp(`^${acct.account_id}\\s+Ops team\\s+7\\s+0\\s+1\\s`, 'm'));
      const json = io(env);
      await main(['accounts', 'list', '--json'], json.io);
      expect(JSON.parse(json.out[0]!)).toEqual([{ id: acct.account_id, name: 'Ops team', created_at: acct.created_at, balance: 7, reserved: 0, active_keys: 1 }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
