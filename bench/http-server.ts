/**
 * The server side of bench/http.ts, one child process per server: the full stack (createApp +
 * startServer, as `lavendly serve` runs it) or the bare Koa baseline, over a fresh SQLite file on
 * tmpfs (DATABASE_URL switches to PostgreSQL). Prints `{ port, controlPort, key, workflowId }`
 * as one JSON line; the control port answers this process's CPU time.
 *
 *   node --import tsx bench/http-server.ts full|bare <label>
 *
 * Settings come from the parent through the environment: BENCH_BASELINE (auth-log | plain),
 * BENCH_SAME_FOOTPRINT (1: the baseline also builds the full app, unserved),
 * BENCH_RESPONSE_VALIDATION (off | log | throw), BENCH_PROFILE (1: a CPU profile to tmp/bench-prof),
 * BENCH_TELEMETRY (off | metrics | tracing | all: the full server's metrics and tracing; spans go
 * over OTLP to BENCH_OTLP_URL, a sink in the parent; BENCH_TRACE_SAMPLE_RATIO). BENCH_BASELINE=full makes the baseline the full
 * stack with telemetry off, so the ratio is the cost of telemetry alone. BENCH_RATE_LIMIT: requests
 * per minute per key of the shared rate limit both servers take from (default 1e9, never refusing;
 * 0 = off). BENCH_SRC_ROOT: serve another checkout's code with this harness.
 * BENCH_CONTROL_WAL_AUTOCHECKPOINT=N sets SQLite's automatic checkpoint (pages; 0 = none) in the
 * `--control` server only: the same bare server with and without checkpoints in one run.
 * BENCH_CHECKPOINTER / BENCH_CONTROL_CHECKPOINTER (on | off): the checkpoint thread of `serve`
 * (src/db/wal-checkpointer.ts) in every server / in the `--control` one. BENCH_DATA_ROOT: where
 * the databases go (default /dev/shm).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { probeServer } from './latency-probe.js';
import { exitWithParent } from './exit-with-parent.js';

export const SHOTS = [
  { prompt: 'A sleepy fox noses through a dusty bookshop.', image_prompt: 'Watercolour bookshop at dusk.', duration_s: 5 },
  { prompt: 'The map unfolds and its lines glow gold.', duration_s: 5 },
  { prompt: 'The fox steps through a doorway of warm light.', duration_s: 5 },
];
export const CREATE_BODY = JSON.stringify({ name: 'Bench fox', aspect_ratio: '9:16', shots: SHOTS });

export type Mode = 'full' | 'bare';

/**
 * The checkout whose code is served: this one, or BENCH_SRC_ROOT (bench/http.ts `--before DIR`:
 * an older checkout served by this same harness, so before and after meet in one run).
 */
const ROOT = process.env.BENCH_SRC_ROOT ? pathToFileURL(`${path.resolve(process.env.BENCH_SRC_ROOT)}/`).href : new URL('../', import.meta.url).href;
const load = <T>(file: string): Promise<T> => import(new URL(file, ROOT).href) as Promise<T>;
type Src<P extends string> = P extends 'config' ? typeof import('../src/config.js')
  : P extends 'knex' ? typeof import('../src/db/knex.js')
    : P extends 'compose' ? typeof import('../src/app/compose.js')
      : P extends 'store' ? typeof import('../src/workflows/store.js')
        : P extends 'app' ? typeof import('../src/http/app.js')
          : P extends 'logging' ? typeof import('../src/http/logging.js')
            : P extends 'auth' ? typeof import('../src/http/auth.js')
              : P extends 'rate-limit' ? typeof import('../src/http/rate-limit.js')
                : P extends 'telemetry' ? typeof import('../src/telemetry/index.js')
                  : P extends 'workflows' ? typeof import('../handlers/workflows.js') : never;
const FILES = {
  config: 'src/config.js', knex: 'src/db/knex.js', compose: 'src/app/compose.js', store: 'src/workflows/store.js',
  app: 'src/http/app.js', logging: 'src/http/logging.js', auth: 'src/http/auth.js', 'rate-limit': 'src/http/rate-limit.js',
  telemetry: 'src/telemetry/index.js', workflows: 'handlers/workflows.js',
} as const;
const src = <P extends keyof typeof FILES>(name: P): Promise<Src<P>> => load<Src<P>>(FILES[name]);

/**
 * Requests per minute per key for the rate limit both servers take a token from (the stack's own
 * shared limiter, as `serve` runs it): high enough that the bench is never refused.
 * BENCH_RATE_LIMIT=0 turns it off in both.
 */
const RATE_LIMIT = Number(process.env.BENCH_RATE_LIMIT ?? 1e9);

/** Apps built only so the baseline's process is as big as the full one (BENCH_SAME_FOOTPRINT). */
const footprint: unknown[] = [];

async function serve(mode: Mode, label: string): Promise<void> {
  exitWithParent();
  const { loadConfig } = await src('config');
  const { createDb, migrate } = await src('knex');
  const { compose } = await src('compose');
  // On tmpfs where there is one: the disk's checkpoint flushes otherwise land in random rounds.
  // BENCH_DATA_ROOT puts it elsewhere (a disk: checkpoints then pay their fsyncs, as in production).
  const root = process.env.BENCH_DATA_ROOT ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  const dataDir = fs.mkdtempSync(path.join(root, `lavendly-bench-${label}-`));
  process.once('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const validation = (process.env.BENCH_RESPONSE_VALIDATION ?? 'off') as 'off' | 'log' | 'throw';
  const config = { ...loadConfig(process.env), dataDir, rateLimitPerMinute: RATE_LIMIT, responseValidation: validation, port: 0 };
  const db = createDb({ databaseUrl: config.databaseUrl, dataDir, pgSchema: undefined });
  await migrate(db);
  // WAL checkpoints off the request path, as `serve` runs them (a checkout without the module
  // checkpoints on the request path). BENCH_CHECKPOINTER=off, or BENCH_CONTROL_CHECKPOINTER for
  // the --control server alone, leaves SQLite's own checkpoints instead.
  const checkpointer = (label === 'control' ? process.env.BENCH_CONTROL_CHECKPOINTER : undefined) ?? process.env.BENCH_CHECKPOINTER ?? 'on';
  if (checkpointer === 'on') {
    const module = await load<typeof import('../src/db/wal-checkpointer.js')>('src/db/wal-checkpointer.js').catch(() => null);
    await module?.startWalCheckpointer(db);
  }
  if (label === 'control' && process.env.BENCH_CONTROL_WAL_AUTOCHECKPOINT) await db.raw(`PRAGMA wal_autocheckpoint = ${Number(process.env.BENCH_CONTROL_WAL_AUTOCHECKPOINT)}`);
  // Access logs are part of the stack: the logger `serve` builds, written to /dev/null so the
  // terminal is not the bottleneck.
  const logger = await serveLogger();
  const { services, handlers } = await compose({ config, db, logger });
  const { account, apiKey } = await services.accounts.createAccount({ name: `bench ${mode}`, credits: 0 });
  const { createWorkflow } = await src('store');
  const { workflow } = await createWorkflow(db, account.id, { name: 'Bench fox', shots: SHOTS });

  let server: http.Server;
  if (mode === 'full' || process.env.BENCH_BASELINE === 'full') {
    const { createApp, startServer } = await src('app');
    const telemetry = mode === 'full' ? await benchTelemetry(process.env.BENCH_TELEMETRY ?? 'off', db, logger) : undefined;
    const app = await createApp({ config, db, services, handlers, logger, telemetry });
    server = (await startServer({ app, db, logger, port: 0 })).server;
  } else {
    server = await bareServer(db, account.id, services, process.env.BENCH_BASELINE === 'plain' ? null : logger);
    if (process.env.BENCH_SAME_FOOTPRINT === '1') {
      // Built and kept, never served: the baseline process then holds the same code and heap as
      // the full one (spec, validators, MCP, docs), and the ratio measures per-request work only.
      const { createApp } = await src('app');
      footprint.push(await createApp({ config, db, services, handlers, logger }));
    }
  }
  const { port } = server.address() as { port: number };
  // A side channel for the parent: this process's CPU time, so cost per request can be read
  // even when other work on the machine makes throughput noisy ...
  // ... and the tail-latency probes (bench/latency-probe.ts), read and reset per scenario.
  const read = probeServer(server);
  const control = http.createServer((req, res) => res.end(JSON.stringify(read(req.url))));
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', () => resolve()));
  const controlPort = (control.address() as { port: number }).port;
  if (process.env.BENCH_PROFILE) await profileUntilSigint(label);
  process.stdout.write(`${JSON.stringify({ port, controlPort, key: apiKey.key, workflowId: workflow.id })}\n`);
}

/**
 * Metrics and/or tracing as `serve` would run them. Spans are really exported, over OTLP/HTTP to
 * the parent's sink (on the load generator's cores), so serialising and posting them is measured
 * and receiving them is not.
 */
async function benchTelemetry(which: string, db: import('../src/db/knex.js').Db, logger: import('pino').Logger) {
  if (!['off', 'metrics', 'tracing', 'all'].includes(which)) throw new Error(`--telemetry must be off, metrics, tracing or all (got ${which})`);
  const { startTelemetry } = await src('telemetry');
  const tracesUrl = process.env.BENCH_OTLP_URL;
  if ((which === 'tracing' || which === 'all') && !tracesUrl) throw new Error('BENCH_OTLP_URL is not set');
  const tracing = which === 'tracing' || which === 'all'
    ? { tracesUrl: tracesUrl!, headers: {}, serviceName: 'lavendly-bench', sampleRatio: Number(process.env.BENCH_TRACE_SAMPLE_RATIO ?? 1) }
    : null;
  const metrics = { enabled: which === 'metrics' || which === 'all', token: null, port: null };
  return startTelemetry({ host: '127.0.0.1', metrics, tracing }, { db, logger });
}

/**
 * The logger of `serve` (createLogger, whose default destination is pino's asynchronous
 * SonicBoom), writing to /dev/null.
 */
async function serveLogger(): Promise<import('pino').Logger> {
  const { createLogger } = await src('logging');
  const { default: pino } = await import('pino');
  return createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: false }) });
}

/**
 * BENCH_PROFILE=1: a V8 CPU profile of this server from now (start-up left out) until the parent
 * stops it, written to tmp/bench-prof/<label>.cpuprofile for finding hot spots.
 * BENCH_PROFILE=heap: V8's sampling heap profile instead (<label>.heapprofile), counting objects
 * the young-generation GC already collected too: where each request's garbage is allocated, which
 * sets how often scavenges pause the server (bench/heap-summary.ts summarises it).
 */
async function profileUntilSigint(label: string): Promise<void> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  const heap = process.env.BENCH_PROFILE === 'heap';
  if (heap) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true,
    } as never);
  } else {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  process.removeAllListeners('SIGINT');
  process.once('SIGINT', async () => {
    const { profile } = heap ? await session.post('HeapProfiler.stopSampling') : await session.post('Profiler.stop');
    fs.mkdirSync('tmp/bench-prof', { recursive: true });
    fs.writeFileSync(`tmp/bench-prof/${label}.${heap ? 'heapprofile' : 'cpuprofile'}`, JSON.stringify(profile));
    process.exit(0);
  });
}

/**
 * The baseline: Koa + @koa/router routes that call the very same handler functions (so the same
 * database work and business logic) with a hand-built input and context, and nothing else: no
 * generated routing, no auth, no zod, no envelope, no access log, no idempotency.
 */
async function bareServer(
  db: import('../src/db/knex.js').Db, accountId: string, services: import('../src/http/context.js').Services,
  /** When given, the baseline also authenticates the key and writes the access log line. */
  withAuthAndLog: import('pino').Logger | null,
): Promise<http.Server> {
  const { default: Koa } = await import('koa');
  const { default: Router } = await import('@koa/router');
  const { default: getRawBody } = await import('raw-body');
  const { workflowsHandlers } = await src('workflows');
  const { loadConfig } = await src('config');
  const { default: pino } = await import('pino');
  const app = new Koa();
  const router = new Router({ prefix: '/v1' });
  const config = loadConfig({});
  const logger = pino({ level: 'silent' });
  const context = (koa: import('koa').Context) => ({
    account: { id: accountId, scopes: [], keyId: 'bench' }, maybeAccount: null, requestId: 'bench', db,
    config, services, logger, koa,
  }) as unknown as import('../src/http/context.js').AppContext;
  const reply = (ctx: import('koa').Context, r: { status: number; body?: unknown; headers?: Record<string, string> }) => {
    if (r.headers) ctx.set(r.headers);
    ctx.body = r.body as object;
    ctx.status = r.status;
  };
  router.get('/workflows/:id', async (ctx) => {
    reply(ctx, await workflowsHandlers.get_workflow({ path: { id: ctx.params.id! }, query: {}, headers: {}, body: undefined }, context(ctx)));
  });
  router.post('/workflows', async (ctx) => {
    const body = JSON.parse((await getRawBody(ctx.req, { limit: 1024 * 1024 })).toString('utf8'));
    reply(ctx, await workflowsHandlers.create_workflow({ path: {}, query: {}, headers: {}, body }, context(ctx)));
  });
  if (withAuthAndLog) {
    const { accessLog } = await src('logging');
    const { authenticate } = await src('auth');
    const { SharedRateLimiter } = await src('rate-limit');
    app.use(accessLog(withAuthAndLog));
    // The same token take as the stack's (one statement, which also checks the key is live).
    const limit = RATE_LIMIT > 0 ? new SharedRateLimiter(db, 'api_key', RATE_LIMIT) : undefined;
    app.use(authenticate(services.accounts, { secured: true, scopes: [], limit }));
  }
  app.use(router.routes());
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await serve(process.argv[2] as Mode, process.argv[3] ?? process.argv[2]!);
}
