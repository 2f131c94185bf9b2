import type { Logger } from 'pino';
import { countAccounts } from '../../accounts/accounts.js';
import { compose, type Composition } from '../../app/compose.js';
import type { Config } from '../../config.js';
import { checkClock, followDbClock } from '../../db/clock.js';
import type { Db } from '../../db/knex.js';
import { startWalCheckpointer } from '../../db/wal-checkpointer.js';
import { createApp, startServer, type RunningServer } from '../../http/app.js';
import type { Services } from '../../http/context.js';
import { createLogger } from '../../http/logging.js';
import { serverLimits } from '../../http/server-limits.js';
import { checkStore } from '../../storage/preflight.js';
import { startTelemetry } from '../../telemetry/index.js';
import { parseFlags, UsageError, type Command, type CommandIo } from '../command.js';
import { openData } from '../open.js';
import { runningBesideNewer } from '../../db/migration-log.js';
import { untilSignal } from '../signals.js';
import { jobWorkerSidecar } from './worker.js'; // the job worker beside the API (generation, webhooks, publishing)

/** What `serve` built: the composition (services, handlers, job handlers) and what it was built from. */
export interface ServeContext extends Composition {
  config: Config;
  db: Db;
  logger: Logger;
}

/**
 * Work that runs beside the API in `lavendly serve` (the jobs worker, schedulers ...): started
 * after the server listens, stopped (by `stop`) before the database closes. Add yours to this list.
 */
export type ServeSidecar = (ctx: ServeContext) => Promise<SidecarHandle>;

export interface SidecarHandle {
  stop(): Promise<void>;
  /**
   * Begins stopping when shutdown starts rather than after the last request: `deadlineMs` from
   * now it must be done. The jobs worker stops claiming here; were it stopped only after the
   * requests (which may take the whole grace period), it would claim jobs meanwhile and get a
   * grace period of its own, outliving the 10 s a container runtime waits before SIGKILL.
   */
  drain?(deadlineMs: number): Promise<void>;
}
const serveSidecars: ServeSidecar[] = [walCheckpointSidecar, jobWorkerSidecar];

/** SQLite's WAL checkpoints in a thread of their own, off the request path (src/db/wal-checkpointer.ts). */
async function walCheckpointSidecar(ctx: ServeContext): Promise<SidecarHandle> {
  const checkpointer = await startWalCheckpointer(ctx.db);
  return { stop: async () => { await checkpointer?.stop(); } };
}

const DEV_ACCOUNT_CREDITS = 1000;

/**
 * Starts the API (and sidecars) as `serve` does; the caller decides when to stop it. Everything
 * that can fail (settings, database, the port) fails before anything is created, and what was
 * opened is closed again, so a failed start leaves nothing behind and holds the process open for
 * nothing.
 */
export async function startServe(io: CommandIo, opts: {
  port?: number; host?: string; logger?: Logger;
  /** Services used instead of the configured ones (tests: a loopback webhook policy, a fake OAuth platform). */
  services?: Partial<Services>;
} = {}): Promise<{
  running: RunningServer; ctx: ServeContext; baseUrl: string; devKey: string | null;
}> {
  const { config, db, migration } = await openData(io.env);
  const unfollowClock = await checkClock(db).then(() => followDbClock(db)).catch(async (err) => {
    await db.destroy();
    throw err;
  });
  const stops: (() => Promise<void>)[] = [async () => unfollowClock()];
  const drains: ((deadlineMs: number) => Promise<void>)[] = [];
  let running: RunningServer | null = null;
  try {
    const logger = opts.logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
    const ahead = runningBesideNewer(migration);
    if (ahead) logger.warn({ migrations: migration.compatibleAhead }, ahead);
    const composed = await compose({ config, db, logger }, opts.services);
    const { services } = composed;
    await checkStore(services.storage, logger);
    const ctx: ServeContext = { ...composed, config, db, logger };
    const telemetry = await startTelemetry(config, { db, logger });
    stops.push(() => telemetry.shutdown()); // stopped last (the list runs in reverse)
    const app = await createApp({ config, db, services, handlers: composed.handlers, logger, jsonBodyLimit: config.jsonBodyLimit ?? undefined, telemetry });
    running = await startServer({
      app, db, logger, port: opts.port ?? config.port, host: opts.host ?? config.host, limits: serverLimits(config),
      drainDelayMs: config.shutdownDelayMs,
      onDrain: async (deadlineMs) => { await Promise.all(drains.map((drain) => drain(deadlineMs))); },
      onClose: async () => {
        for (const stop of stops.reverse()) await stop().catch((err) => logger.error({ err }, 'sidecar stop failed'));
      },
    });

    // First start on an empty database: a development account, its key shown this once. The key
    // goes to stderr, the process's channel for people (CLI errors go there too), never into a
    // log line: stdout holds log lines only, and logs get shipped and kept.
    let devKey: string | null = null;
    const first = (await countAccounts(db)) === 0
      ? await services.accounts.createFirstAccount({ name: 'Development', credits: DEV_ACCOUNT_CREDITS })
      : null;
    if (first) {
      const { account, apiKey } = first;
      devKey = apiKey.key;
      io.err(`Created development account ${account.id} with ${DEV_ACCOUNT_CREDITS} credits.`);
      io.err(`Its API key (shown only now, stored as a hash): ${apiKey.key}`);
      io.err(`  export LAVENDLY_API_KEY=${apiKey.key}`);
      logger.info({ account_id: account.id, credits: DEV_ACCOUNT_CREDITS },
        `created development account ${account.id} with ${DEV_ACCOUNT_CREDITS} credits; its API key went to stderr, once`);
    }
    for (const sidecar of serveSidecars) {
      const handle = await sidecar(ctx);
      stops.push(() => handle.stop());
      if (handle.drain) drains.push((ms) => handle.drain!(ms));
    }
    const baseUrl = `${config.publicBaseUrl.replace(/\/+$/, '')}/v1`;
    logger.info({ origin: running.origin, base_url: baseUrl, database: config.databaseUrl ? 'postgres' : 'sqlite' },
      `Lavendly API listening on ${running.origin} (base URL ${baseUrl}, ${config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`})`);
    return { running, ctx, baseUrl, devKey };
  } catch (err) {
    if (running) await running.close(0).catch(() => {});
    else {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      await db.destroy().catch(() => {});
    }
    throw err;
  }
}

function port(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new UsageError(`--port must be a port number from 0 to 65535 (got '${value}')`);
  return Number(value);
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the API server and a jobs worker (env PORT, HOST, LAVENDLY_DATA_DIR, DATABASE_URL).',
  usage: 'lavendly serve [--port N] [--host H]',
  async run(args, io) {
    const values = parseFlags(args, { port: { type: 'string' }, host: { type: 'string' } });
    // The flags stand in for PORT and HOST everywhere, so the default public URL (signed media
    // links, upload URLs) names the port the server really listens on.
    const env = { ...io.env, ...(values.port !== undefined ? { PORT: String(port(values.port)) } : {}), ...(values.host ? { HOST: values.host } : {}) };
    const { running, ctx } = await startServe({ ...io, env }, { port: port(values.port), host: values.host });
    const signal = await untilSignal();
    ctx.logger.info({ signal }, 'shutting down: no new connections, finishing requests and jobs in flight');
    await running.close(ctx.config.shutdownGraceMs);
    return 0;
  },
};
