import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { countAccounts } from '../../accounts/accounts.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/knex.js';
import { createApp, startServer, type RunningServer } from '../../http/app.js';
import type { Services } from '../../http/context.js';
import { createLogger } from '../../http/logging.js';
import { serverLimits } from '../../http/server-limits.js';
import { createServices } from '../../http/services.js';
import { startTelemetry } from '../../telemetry/index.js';
import type { Command, CommandIo } from '../command.js';
import { openData } from '../open.js';
import { jobWorkerSidecar } from './worker.js'; // the job worker beside the API (generation, webhooks, publishing)

export interface ServeContext {
  config: Config;
  db: Db;
  services: Services;
  logger: Logger;
}

/**
 * Work that runs beside the API in `lavendly serve` (the jobs worker, schedulers ...): started
 * after the server listens, stopped (by the function it returns) before the database closes.
 * Add yours to this list.
 */
export type ServeSidecar = (ctx: ServeContext) => Promise<() => Promise<void>>;
export const serveSidecars: ServeSidecar[] = [jobWorkerSidecar];

export const DEV_ACCOUNT_CREDITS = 1000;

/** Starts the API (and sidecars) as `serve` does; the caller decides when to stop it. */
export async function startServe(io: CommandIo, opts: { port?: number; host?: string; logger?: Logger } = {}): Promise<{
  running: RunningServer; ctx: ServeContext; baseUrl: string; devKey: string | null;
}> {
  const { config, db } = await openData(io.env);
  const logger = opts.logger ?? createLogger();
  const authCacheTtlMs = io.env.LAVENDLY_AUTH_CACHE_MS !== undefined ? Number(io.env.LAVENDLY_AUTH_CACHE_MS) : undefined;
  const services = await createServices({ config, db, logger, authCacheTtlMs });
  const ctx: ServeContext = { config, db, services, logger };
  const jsonBodyLimit = io.env.LAVENDLY_JSON_BODY_LIMIT ? Number(io.env.LAVENDLY_JSON_BODY_LIMIT) : undefined;
  const telemetry = await startTelemetry(config, { db, logger });
  const app = await createApp({ config, db, services, logger, jsonBodyLimit, telemetry });

  // First start on an empty database: a development account, its key printed this once.
  let devKey: string | null = null;
  if ((await countAccounts(db)) === 0) {
    const { account, apiKey } = await services.accounts.createAccount({ name: 'Development', credits: DEV_ACCOUNT_CREDITS });
    devKey = apiKey.key;
    io.out(`Created development account ${account.id} with ${DEV_ACCOUNT_CREDITS} credits.`);
    io.out(`Its API key (shown only now, stored as a hash): ${apiKey.key}`);
    io.out(`  export LAVENDLY_API_KEY=${apiKey.key}`);
  }

  const stops: (() => Promise<void>)[] = [];
  const running = await startServer({
    app, db, logger, port: opts.port ?? config.port, host: opts.host ?? config.host, limits: serverLimits(config),
    onClose: async () => {
      for (const stop of stops.reverse()) await stop().catch((err) => logger.error({ err }, 'sidecar stop failed'));
      await telemetry.shutdown();
    },
  });
  for (const sidecar of serveSidecars) stops.push(await sidecar(ctx));
  const baseUrl = `${config.publicBaseUrl.replace(/\/+$/, '')}/v1`;
  io.out(`Lavendly API listening on ${running.origin} (base URL ${baseUrl}, ${config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`})`);
  return { running, ctx, baseUrl, devKey };
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the API server (env PORT, HOST, LAVENDLY_DATA_DIR, DATABASE_URL).',
  usage: 'lavendly serve [--port N] [--host H]',
  async run(args, io) {
    const { values } = parseArgs({ args, strict: true, options: { port: { type: 'string' }, host: { type: 'string' } } });
    const { running, ctx } = await startServe(io, { port: values.port ? Number(values.port) : undefined, host: values.host });
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        ctx.logger.info({ signal }, 'shutting down');
        running.close().then(resolve, (err) => {
          ctx.logger.error({ err }, 'shutdown failed');
          resolve();
        });
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    return 0;
  },
};
