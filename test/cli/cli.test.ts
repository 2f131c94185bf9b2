import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
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

const silent = () => createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe.each(testDatabases())('lavendly CLI on %s', (kind) => {
  it('serve creates a development account once, and the CLI manages keys the server honours', async () => {
    const fresh = await freshDb(kind);
    const env = { LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: fresh.databaseUrl ?? '', LAVENDLY_AUTH_CACHE_MS: '0' };
    try {
      const first = io(env);
      const s1 = await startServe(first.io, { port: 0, logger: silent() });
      expect(s1.devKey).toMatch(/^lvd_/);
      expect(first.out.join('\n')).toContain(s1.devKey!);
      expect(first.out.join('\n')).toContain('1000 credits');
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
      const s2 = await startServe(again.io, { port: 0, logger: silent() });
      expect(s2.devKey).toBeNull();
      expect(again.out.join('\n')).not.toContain('lvd_');
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
    const u = io({});
    expect(await main(['nope'], u.io)).toBe(2);
    const m = io({ LAVENDLY_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-cli-')) });
    expect(await main(['accounts', 'create', '--credits', 'x', '--name', 'n'], m.io)).toBe(2);
    expect(await main(['keys', 'revoke'], m.io)).toBe(2);
    expect(await main(['accounts', 'create', '--name', 'n', '--bogus'], m.io)).toBe(2);
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
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
