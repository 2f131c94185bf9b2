// Finding 5 of issue 13: a start that cannot work (busy port, bad setting, no database) used to
// print an error and hang. Each case runs the real CLI and expects exit code 1 with exactly one
// line, before the 20 s kill in runCli.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';
import { freePort } from '../helpers/server.js';

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
    [{ LAVENDLY_SHUTDOWN_GRACE_MS: '99999999999' }, "lavendly: error: LAVENDLY_SHUTDOWN_GRACE_MS must be a whole number from 0 to 2147483647 (got '99999999999')"],
    [{ LAVENDLY_SERVE_WORKER: 'false' }, "lavendly: error: LAVENDLY_SERVE_WORKER must be 0 or 1 (got 'false')"],
    [{ DATABASE_URL: 'mysql://app:s3cret@db.example.com/app' }, 'lavendly: error: DATABASE_URL must be a postgres:// or postgresql:// URL; mysql:// databases are not supported (leave it unset for the embedded SQLite file)'],
  ])('serve with %o', async (extra, line) => {
    const r = await runCli(['serve'], env(extra));
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([line]);
    expect(r.stdout + r.stderr).not.toContain('s3cret');
  });

  it('serve and worker with an unreachable PostgreSQL', async () => {
    const port = await freePort();
    for (const command of ['serve', 'worker']) {
      const r = await runCli([command], env({ DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${port}/x` }));
      expect(r.code).toBe(1);
      expect(r.lines).toEqual([`lavendly: error: cannot reach the database: connect ECONNREFUSED 127.0.0.1:${port}`]);
    }
  });

  // The kill comes at 50 s: the 10 s timeout plus tsx's start, which took 18 s on a loaded machine.
  it('serve and worker with a PostgreSQL that accepts connections and never answers: one line after the 10 s connect timeout', async () => {
    // Before, pg waited forever and knex gave up after most of a minute with "Timeout acquiring a
    // connection. The pool is probably full. Are you missing a .transacting(trx) call?".
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const runs = await Promise.all(['serve', 'worker'].map((command) => runCli([command], env({ DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${port}/x` }), 50_000)));
      for (const r of runs) {
        expect(r.code).toBe(1);
        expect(r.lines).toEqual(['lavendly: error: cannot reach the database: no answer within 10 s']);
      }
    } finally {
      silent.close();
    }
  }, 60_000);

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
    for (const bad of ['abc', '0', '2.5', '-1', '1001']) {
      expect(() => loadConfig({ LAVENDLY_WEBHOOK_ACCOUNT_IN_FLIGHT: bad }), bad).toThrow(/^LAVENDLY_WEBHOOK_ACCOUNT_IN_FLIGHT must be a whole number from 1 to 1000/);
    }
    expect(loadConfig({ LAVENDLY_WEBHOOK_ACCOUNT_IN_FLIGHT: '8' }).webhooks.accountInFlight).toBe(8);
    expect(loadConfig({}).webhooks.accountInFlight).toBe(2);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/app' })).toThrow(/^DATABASE_URL must be .* mysql:\/\/ databases are not supported/);
    try { loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/app' }); } catch (err) { expect(String(err)).not.toContain('hunter2'); }
  });

  it('counts are whole numbers, and a console session cannot be set to end as it starts', async () => {
    const { loadConfig } = await import('../../src/config.js');
    for (const [name, bad] of [['LAVENDLY_MAX_CONNECTIONS', '1.5'], ['LAVENDLY_TRANSFERS_PER_ACCOUNT', '0.5'], ['LAVENDLY_TRANSFERS_PER_ACCOUNT', '0'],
      ['LAVENDLY_SESSION_IDLE_HOURS', '0'], ['LAVENDLY_SESSION_MAX_DAYS', '0'], ['LAVENDLY_SIGN_IN_FAILURES_PER_MINUTE', '2.5'],
      ['LAVENDLY_SIGN_IN_FAILURES_PER_MINUTE', '-1']] as const) {
      expect(() => loadConfig({ [name]: bad }), `${name}=${bad}`).toThrow(new RegExp(`^${name} must be `));
    }
    const ok = loadConfig({ LAVENDLY_MAX_CONNECTIONS: '100', LAVENDLY_SESSION_IDLE_HOURS: '0.5', LAVENDLY_SIGN_IN_FAILURES_PER_MINUTE: '0' });
    expect(ok).toMatchObject({ maxConnections: 100, consoleAuth: { limits: { idleMs: 1_800_000 }, failuresPerMinute: 0 } });
  });

  it('refuses durations past what a timer can wait (they fired after 1 ms), each naming its variable', async () => {
    const { loadConfig } = await import('../../src/config.js');
    // 2^31 ms: Node runs such a timer after 1 ms, so this grace period aborted every job at once.
    const tooLong: Record<string, string> = {
      LAVENDLY_SHUTDOWN_GRACE_MS: '2147483648', LAVENDLY_SHUTDOWN_DELAY_MS: '2147483648',
      LAVENDLY_BODY_IDLE_TIMEOUT_S: '2147484', LAVENDLY_HEADERS_TIMEOUT_S: '2147484', LAVENDLY_REQUEST_TIMEOUT_S: '2147484',
      LAVENDLY_IDEMPOTENCY_LEASE_S: '2147484', LAVENDLY_STORAGE_TIMEOUT_S: '2147484', LAVENDLY_PROVIDER_DEADLINE_S: '2147484',
      LAVENDLY_PROVIDER_POLL_MS: '214748365', LAVENDLY_WORKER_LEASE_MS: '2147483648', LAVENDLY_WORKER_POLL_MS: '2147483648',
      LAVENDLY_WORKER_FILE_SWEEP_MS: '2147483648',
    };
    for (const [name, value] of Object.entries(tooLong)) {
      expect(() => loadConfig({ [name]: value }), name).toThrow(new RegExp(`^${name} must be `));
    }
    expect(loadConfig({ LAVENDLY_SHUTDOWN_GRACE_MS: '2147483647' }).shutdownGraceMs).toBe(2_147_483_647);
    expect(loadConfig({ LAVENDLY_BODY_IDLE_TIMEOUT_S: '86400' }).bodyIdleTimeoutS).toBe(86_400);
  });

  it('LAVENDLY_SERVE_WORKER is 0 or 1: "false" or "off" used to leave the worker running', async () => {
    const { loadConfig } = await import('../../src/config.js');
    expect(loadConfig({}).worker.besideServe).toBe(true);
    expect(loadConfig({ LAVENDLY_SERVE_WORKER: '1' }).worker.besideServe).toBe(true);
    expect(loadConfig({ LAVENDLY_SERVE_WORKER: '0' }).worker.besideServe).toBe(false);
    for (const value of ['false', 'off', 'no', ' 0']) {
      expect(() => loadConfig({ LAVENDLY_SERVE_WORKER: value }), value).toThrow(`LAVENDLY_SERVE_WORKER must be 0 or 1 (got '${value}')`);
    }
    expect(loadConfig({ LAVENDLY_METRICS: '' }).metrics.enabled).toBe(true); // empty is unset, as for every other variable
  });
});
