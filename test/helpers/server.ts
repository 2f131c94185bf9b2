import { Writable } from 'node:stream';
import type Router from '@koa/router';
import { compose, type JobHandlers } from '../../src/app/compose.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createApp, startServer, type LavendlyApp, type RunningServer } from '../../src/http/app.js';
import type { Services } from '../../src/http/context.js';
import { createLogger } from '../../src/http/logging.js';
import type { Runtime } from '../../src/http/route-runtime.js';
import { serverLimits } from '../../src/http/server-limits.js';
import type { DbKind } from '../../src/db/knex.js';
import { freshDb, type FreshDb } from './db.js';

export interface TestServer {
  app: LavendlyApp;
  running: RunningServer;
  /** `http://127.0.0.1:<port>/v1` */
  base: string;
  origin: string;
  fresh: FreshDb;
  services: Services;
  /** The job handlers built from `services` (a test's worker runs them: `startJobWorker({ composed: server })`). */
  jobHandlers: JobHandlers;
  config: Config;
  /** Every log line written during the test, parsed. */
  logs: Record<string, unknown>[];
  /** A new account with a key (and credits when asked). */
  account(opts?: { credits?: number; scopes?: string[]; name?: string }): Promise<{ id: string; key: string; keyId: string }>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  config?: Partial<Config>;
  /** How long a shutdown keeps serving with /readyz failing before the listener closes. */
  drainDelayMs?: number;
  /** Services used instead of the configured ones (a loopback webhook policy, small clips ...). */
  services?: Partial<Services>;
  mount?: (router: Router, runtime: Runtime) => void | Promise<void>;
  jsonBodyLimit?: number;
  /** Reuse a database instead of a fresh one (it is then not closed). */
  fresh?: FreshDb;
  /** Listen on a free port chosen up front and name it as the public URL, so signed links work. */
  publicLinks?: boolean;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as import('node:net').AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A real server on an ephemeral port over a fresh database, with response validation on. */
export async function startTestServer(kind: DbKind, options: TestServerOptions = {}): Promise<TestServer> {
  const fresh = options.fresh ?? (await freshDb(kind));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', destination: sink });
  const port = options.publicLinks ? await freePort() : 0;
  const config: Config = {
    ...loadConfig({}),
    dataDir: fresh.dataDir,
    databaseUrl: fresh.databaseUrl,
    signingSecret: 'test-signing-secret',
    responseValidation: 'throw',
    rateLimitPerMinute: 100_000,
    authFailuresPerMinute: 100_000,
    ...(port ? { publicBaseUrl: `http://127.0.0.1:${port}` } : {}),
    ...options.config,
  };
  const { services, handlers, jobHandlers } = await compose({ config, db: fresh.db, logger }, options.services);
  const app = await createApp({ config, db: fresh.db, services, handlers, logger, mount: options.mount, jsonBodyLimit: options.jsonBodyLimit });
  const running = await startServer({ app, db: fresh.db, logger, port, closeDb: false, limits: serverLimits(config), drainDelayMs: options.drainDelayMs });
  return {
    app, running, origin: running.origin, base: `${running.origin}/v1`, fresh, services, jobHandlers, config, logs,
    async account(opts = {}) {
      const { account, apiKey } = await services.accounts.createAccount({
        name: opts.name ?? 'Test account', credits: opts.credits ?? 0, scopes: opts.scopes ?? [],
      });
      return { id: account.id, key: apiKey.key, keyId: apiKey.id };
    },
    async close() {
      await running.close(2_000);
      if (!options.fresh) await fresh.close();
    },
  };
}

/** fetch with a JSON body and a Bearer key; returns status, headers, raw text and parsed JSON. */
export async function call(
  url: string,
  init: { method?: string; key?: string; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  let body: string | Buffer | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? (body !== undefined ? "POST" : "GET"), headers, body: body as any });
  const text = await res.text();
  let json: any = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, headers: res.headers, text, json };
}
