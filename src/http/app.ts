import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/knex.js';
import type { Handlers } from '../../generated/handlers.gen.js';
import { mountRoutes } from '../../generated/routes.gen.js';
import type { AppContext, Services } from './context.js';
import { edge } from './edge.js';
import { cors } from './cors.js';
import { answerClientErrors, requireHost } from './client-error.js';
import { unmatched } from '@lavendly/framework';
import { indexedRoutes } from './route-index.js';
import { createLavendlyRuntime, type Runtime } from './route-runtime.js';
import { minuteSweep } from './sweeps.js';
import type { Storage } from '../storage/index.js';
import { serveSignedFiles } from './files.js';
import { mcpHttp } from '../mcp/http.js';
import { McpSessions } from '../mcp/sessions.js';
import { codeSamples } from '../../generated/samples.gen.js';
import { apiDocs } from './docs.js';
import { consoleApp, consoleMediaOrigins } from './console-static.js';
import { createLimitedServer, DEFAULT_SERVER_LIMITS, type ServerLimits } from './server-limits.js';
import type { Telemetry } from '../telemetry/index.js';
import { probes } from './probes.js';
import { databaseHealth } from '../db/health.js';
import { consoleAuthRoutes } from './console/auth-routes.js';
import { channelCallback } from './console/channel-callback.js';
import { mcpAuthChallenge, mcpOAuthEndpoints } from './console/mcp-oauth.js';
import { mcpAuthorize } from './console/mcp-authorize.js';

export interface AppDeps {
  config: Config;
  db: Db;
  services: Services;
  /** The operations' implementations (the composition root's `handlers`). */
  handlers: Handlers<AppContext>;
  logger: Logger;
  /** Largest JSON request body in bytes (default 1 MB; env LAVENDLY_JSON_BODY_LIMIT in the CLI). */
  jsonBodyLimit?: number;
  /** Puts the operations on the router. Defaults to the generated routes with `handlers`; tests may mount their own. */
  mount?: (router: Router, runtime: Runtime) => void | Promise<void>;
  /** Path prefix of the API (the spec's server URL path). Default `/v1`. */
  basePath?: string;
  /**
   * Middleware mounted beside the API, inside the request id / log / envelope layers and before
   * the router (e.g. MCP over Streamable HTTP at /mcp). Each must pass on paths it does not own.
   */
  extraMiddleware?: Koa.Middleware[];
  /** Metrics and tracing (src/telemetry): its layer goes outermost, `GET /metrics` beside the API. */
  telemetry?: Pick<Telemetry, 'layer' | 'endpoint'>;
  /** The built web console (default console/dist; see src/http/console-static.ts). */
  consoleDir?: string;
}

export interface LavendlyApp extends Koa {
  runtime: Runtime;
  router: Router;
  /** Flips once shutdown starts: responses then close their connection. */
  draining: boolean;
  /** Aborted once shutdown starts: long-polls (`wait_s`) answer with what they have. */
  stopping: AbortController;
  /** The app's file storage, whose abandoned staging files the server sweeps. */
  storage: Storage;
  /** Open MCP sessions (elicitation over /mcp), ended when the server shuts down. */
  mcpSessions: McpSessions;
}

export async function createApp(deps: AppDeps): Promise<LavendlyApp> {
  const app = new Koa() as LavendlyApp;
  app.silent = true;
  // Behind N trusted proxies, ctx.ip (failed-auth limits, access log) is the address the outermost
  // of them saw: the last N entries of X-Forwarded-For are theirs, anything left of them the
  // client's own claim.
  if (deps.config.trustProxy > 0) {
    app.proxy = true;
    app.maxIpsCount = deps.config.trustProxy;
  }
  app.on('error', (err) => deps.logger.warn({ err }, 'connection error'));
  const runtime = createLavendlyRuntime(deps);
  const basePath = deps.basePath ?? '/v1';
  const router = new Router({ prefix: basePath });
  if (deps.mount) await deps.mount(router, runtime);
  else mountRoutes(router, deps.handlers, runtime);
  app.runtime = runtime;
  app.router = router;
  app.draining = false;
  app.stopping = new AbortController();
  app.storage = deps.services.storage;
  app.mcpSessions = new McpSessions();

  if (deps.telemetry?.layer) app.use(deps.telemetry.layer);
  app.use(edge({ logger: deps.logger, draining: () => app.draining }));
  // Browser pages on other origins (the SDK in a page): preflights answered before auth.
  if (deps.config.corsOrigins.length) app.use(cors(deps.config.corsOrigins));
  // The API reference (src/http/docs.ts): the spec at GET /v1/openapi.json is an API route; the
  // Redoc page at GET /docs is mounted below.
  // The served spec names this server (LAVENDLY_PUBLIC_URL) and carries the generated code samples.
  const serverUrl = `${deps.config.publicBaseUrl.replace(/\/+$/, '')}${basePath}`;
  const docs = apiDocs({ basePath, serverUrl, codeSamples: codeSamples(serverUrl) });
  router.get('/openapi.json', docs.spec);
  // Mounts that own paths outside the API, skipped by API requests (one prefix check instead of a
  // middleware each): MCP over Streamable HTTP at /mcp, calling this server's API with the caller's
  // key (src/mcp/http.ts); stored files behind signed, expiring URLs (`/files/<key>?exp=..&sig=..`);
  // the reference page; Prometheus metrics at /metrics when on; the operators' probes
  // (src/http/probes.ts).
  app.use(outsideApi(basePath, [
    probes({ draining: () => app.draining, health: databaseHealth(deps.db) }),
    // OAuth 2.1 for remote MCP clients: /mcp's 401 points at the metadata; registration, consent
    // (backed by the console sign-in) and tokens (src/http/console/mcp-oauth.ts).
    mcpAuthChallenge(deps.config),
    mcpHttp({ accounts: deps.services.accounts, basePath, sessions: app.mcpSessions, openSessions: deps.config.mcpSessions === 'on', authFailures: runtime.authFailures, allowedOrigins: [deps.config.publicBaseUrl, ...deps.config.corsOrigins] }),
    mcpOAuthEndpoints(deps),
    ...(deps.services.consoleAuth ? [mcpAuthorize({ ...deps, auth: deps.services.consoleAuth })] : []),
    serveSignedFiles(deps.services.storage),
    docs.pages,
    // The console's sign-in, sign-out and session (src/http/console/auth-routes.ts).
    ...(deps.services.consoleAuth ? [consoleAuthRoutes({ auth: deps.services.consoleAuth, publicBaseUrl: deps.config.publicBaseUrl })] : []),
    // Where YouTube/TikTok send the browser back when a channel is connected (OAuth, PKCE).
    channelCallback(deps),
    // The web console (src/http/console-static.ts): its files at / and its pages' history fallback. Signed
    // file and upload links name the public URL, which the page may reach under another origin; with
    // S3 storage, media links are presigned on the store's public endpoint.
    consoleApp({ dir: deps.consoleDir, mediaOrigins: consoleMediaOrigins(deps.config) }),
    ...(deps.telemetry?.endpoint ? [deps.telemetry.endpoint] : []),
  ]));
  for (const mw of deps.extraMiddleware ?? []) app.use(mw);
  app.use(indexedRoutes(router));
  app.use(unmatched(router, { notFoundHint: 'GET /v1/_schema lists them all.' }));
  return app;
}

/**
 * Runs `mounts` in order for requests outside `basePath`; requests under it go straight on.
 * The mounts must not own paths under `basePath`.
 */
function outsideApi(basePath: string, mounts: Koa.Middleware[]): Koa.Middleware {
  const base = basePath.replace(/\/+$/, '');
  const run = (ctx: Koa.Context, next: Koa.Next, i: number): Promise<unknown> =>
    i === mounts.length ? next() : Promise.resolve(mounts[i]!(ctx, () => run(ctx, next, i + 1)));
  return (ctx, next) => {
    const p = ctx.path;
    const underApi = base !== '' && p.startsWith(base) && (p.length === base.length || p.charCodeAt(base.length) === 47 /* / */);
    return underApi ? next() : run(ctx, next, 0);
  };
}

export interface RunningServer {
  server: http.Server;
  /** `http://host:port` (no base path). */
  origin: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes the database. */
  close(graceMs?: number): Promise<void>;
}

/** Why the server could not listen, in words an operator can act on (no stack trace). */
export class ListenError extends Error {
  constructor(readonly code: string | undefined, host: string, port: number, cause: unknown) {
    const why = code === 'EADDRINUSE' ? 'the port is already in use (set PORT or --port)'
      : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges; set PORT or --port)'
        : code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine (set HOST or --host)`
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `the host name ${host} does not resolve (set HOST or --host)`
            : (cause as Error).message;
    super(`cannot listen on ${host}:${port}: ${why}`, { cause });
    this.name = 'ListenError';
  }
}

export async function startServer(opts: {
  app: LavendlyApp;
  db: Db;
  logger: Logger;
  port?: number;
  host?: string;
  /** Close the database on shutdown (default true). */
  closeDb?: boolean;
  /** Extra work to stop on shutdown (workers, timers), run before the database closes. */
  onClose?: () => Promise<void>;
  /**
   * Work that stops as soon as shutdown starts, given the moment (ms from now) it must be done by
   * (the drain delay plus the grace period): the jobs worker, which stops claiming at once and
   * hands its jobs back by then. It runs beside the requests' drain, so both share one deadline;
   * awaited before onClose.
   */
  onDrain?: (deadlineMs: number) => Promise<void>;
  /** Timeouts and the connection cap (default: the configuration's defaults). */
  limits?: ServerLimits;
  /** On close, how long /readyz answers 503 before the listener closes (default 0). */
  drainDelayMs?: number;
}): Promise<RunningServer> {
  const server = createLimitedServer(requireHost(opts.app.callback(), opts.logger), opts.limits ?? DEFAULT_SERVER_LIMITS);
  answerClientErrors(server, opts.logger);
  server.keepAliveTimeout = 5_000;
  const port = opts.port ?? 0;
  const hostName = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => reject(new ListenError(err.code, hostName, port, err));
    server.once('error', failed);
    server.listen(port, hostName, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const health = databaseHealth(opts.db);
  health.start(opts.logger);
  // Once a minute: what requests leave behind (sweeps.ts). The timer never holds the process open.
  const tick = minuteSweep(opts.db, opts.app.storage, opts.logger);
  const sweep = setInterval(() => void tick(), 60_000);
  sweep.unref();
  let closing: Promise<void> | null = null;
  return {
    server,
    origin: `http://${host}:${address.port}`,
    port: address.port,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        clearInterval(sweep);
        // Readiness fails first, so a load balancer stops sending before the listener goes away.
        opts.app.draining = true;
        opts.app.stopping.abort();
        const drained = opts.onDrain?.((opts.drainDelayMs ?? 0) + graceMs)
          .catch((err) => opts.logger.error({ err }, 'stopping work on shutdown failed'));
        // Sessions hold event streams open; ending them lets the listener close. Their running
        // tool calls are answered first, within the grace period.
        const sessionsClosed = opts.app.mcpSessions.drain((opts.drainDelayMs ?? 0) + graceMs);
        if (opts.drainDelayMs) await new Promise((r) => setTimeout(r, opts.drainDelayMs));
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        await closed;
        clearTimeout(timer);
        await sessionsClosed;
        await drained;
        if (opts.onClose) await opts.onClose();
        // The rate limiters' background statements (lease refills) end before the database does.
        await Promise.all([opts.app.runtime.limiter.close?.(), opts.app.runtime.authFailures.close?.()]);
        health.stop();
        if (opts.closeDb !== false) await opts.db.destroy();
        opts.logger.info('server stopped');
      })();
      return closing;
    },
  };
}
