// Finding 5 of issue 13: a start that cannot work (busy port, bad setting, no database) used to
// print an error and hang. Each case runs the real CLI and expects exit code 1 with exactly one
// line, before the 20 s kill in runCli.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';

let dataDir: string;
let busy: net.Server;
let busyPort: number;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-failfast-'));
  busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  busyPort = (busy.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => busy.close(r));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const env = (extra: Record<string, string>) => ({ ...process.env, LAVENDLY_DATA_DIR: dataDir, DATABASE_URL: '', HOST: '127.0.0.1', ...extra });

/** A port nothing listens on: bound, noted, released. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('a start that cannot work exits at once with one line', () => {
  it('serve on a port already in use', async () => {
    const r = await runCli(['serve'], env({ PORT: String(busyPort) }));
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([`lavendly: error: cannot listen on 127.0.0.1:${busyPort}: the port is already in use (set PORT or --port)`]);
    // Nothing was created before the listen failed: the next start still makes the development account.
    const list = await runCli(['accounts', 'list', '--json'], env({}));
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it.each([
    [{ PORT: 'abc' }, "lavendly: error: PORT must be a whole number from 0 to 65535 (got 'abc')"],
    [{ LOG_LEVEL: 'loud' }, "lavendly: error: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got 'loud')"],
    [{ LAVENDLY_WEBHOOK_TIMEOUT_MS: 'abc' }, "lavendly: error: LAVENDLY_WEBHOOK_TIMEOUT_MS must be a whole number from 100 to 600000 (got 'abc')"],
    [{ DATABASE_URL: 'mysql://app:s3cret@db.example.com/app' }, 'lavendly: error: DATABASE_URL must be a postgres:// or postgresql:// URL; mysql:// databases are not supported (leave it unset for the embedded SQLite file)'],
  ])('serve with %o', async (extra, line) => {
    const r = await runCli(['serve'], env(extra));
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([line]);
    expect(r.stdout + r.stderr).not.toContain('s3cret');
  });

  it('serve and worker with an unreachable PostgreSQL', async () => {
    const port = await closedPort();
    for (const command of ['serve', 'worker']) {
      const r = await runCli([command], env({ DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${port}/x` }));
      expect(r.code).toBe(1);
      expect(r.lines).toEqual([`lavendly: error: cannot reach the database: connect ECONNREFUSED 127.0.0.1:${port}`]);
    }
  });

  it('serve and worker with a PostgreSQL that accepts connections and never answers: one line after the 10 s connect timeout', async () => {
    // Before, pg waited forever and knex gave up after most of a minute with "Timeout acquiring a
    // connection. The pool is probably full. Are you missing a .transacting(trx) call?".
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const runs = await Promise.all(['serve', 'worker'].map((command) => runCli([command], env({ DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${port}/x` }), 25_000)));
      for (const r of runs) {
        expect(r.code).toBe(1);
        expect(r.lines).toEqual(['lavendly: error: cannot reach the database: no answer within 10 s']);
      }
    } finally {
      silent.close();
    }
  });

  it('worker with a bad setting', async () => {
    const r = await runCli(['worker'], env({ DATABASE_URL: 'mysql://x/y' }));
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([expect.stringMatching(/^lavendly: error: DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/)]);
  });
});

describe('loadConfig', () => {
  it('takes whole numbers only, postgres URLs only, and never echoes a database password', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config.js');
    expect(loadConfig({ PORT: '0', DATABASE_URL: 'postgresql://u:p@h/d' })).toMatchObject({ port: 0, databaseUrl: 'postgresql://u:p@h/d' });
    expect(loadConfig({ DATABASE_URL: '' }).databaseUrl).toBeNull();
    for (const env of [{ PORT: '70000' }, { PORT: '1e3' }, { PORT: ' ' + '-1' }, { LAVENDLY_IDEMPOTENCY_WINDOW_S: '0x10' },
      { LAVENDLY_RATE_LIMIT_PER_MINUTE: '1.5' }, { LAVENDLY_PUBLIC_URL: 'ftp://x' }, { LAVENDLY_LOG_FORMAT: 'xml' },
      { DATABASE_URL: 'not a url' }, { DATABASE_URL: 'sqlite:///tmp/x' }]) {
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(ConfigError);
    }
    for (const bad of ['abc', '0', '1.5', '-5', '1e4', '600001']) {
      expect(() => loadConfig({ LAVENDLY_WEBHOOK_TIMEOUT_MS: bad }), bad).toThrow(/^LAVENDLY_WEBHOOK_TIMEOUT_MS must be a whole number/);
    }
    expect(loadConfig({ LAVENDLY_WEBHOOK_TIMEOUT_MS: '2500' }).webhooks.timeoutMs).toBe(2500);
    expect(loadConfig({}).webhooks.timeoutMs).toBe(10_000);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/app' })).toThrow(/^DATABASE_URL must be .* mysql:\/\/ databases are not supported/);
    try { loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/app' }); } catch (err) { expect(String(err)).not.toContain('hunter2'); }
  });
});
