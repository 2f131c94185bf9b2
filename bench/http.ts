/**
 * HTTP stack overhead: requests/s and latency percentiles of get_workflow and create_workflow
 * through the full stack (generated routes + runtime: auth, rate limit, body reader, zod request
 * validation, envelope, access log; response validation per flag) against bare Koa + @koa/router
 * routes calling the same handler functions (same database work), measured in the same run.
 *
 *   npx tsx bench/http.ts [--seconds 2] [--concurrency 16] [--rounds 5] [--max 20000]
 *     [--response-validation off|log|throw]   (default off: the production setting; tests use throw)
 *   BENCH_BARE_AUTH_LOG=1 gives the baseline the same API-key auth and access log as the stack, so
 *   the ratio isolates what the target names: generated routing + validation + envelope.
 *
 * Each server runs in its own child process on loopback over a fresh SQLite file (DATABASE_URL
 * switches to PostgreSQL); the load generator is this process, on the same cores, as in
 * DESIGN.md's reference figures. Bounded: every scenario stops at --seconds or --max requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SHOTS = [
  { prompt: 'A sleepy fox noses through a dusty bookshop.', image_prompt: 'Watercolour bookshop at dusk.', duration_s: 5 },
  { prompt: 'The map unfolds and its lines glow gold.', duration_s: 5 },
  { prompt: 'The fox steps through a doorway of warm light.', duration_s: 5 },
];
const CREATE_BODY = JSON.stringify({ name: 'Bench fox', aspect_ratio: '9:16', shots: SHOTS });

type Mode = 'full' | 'bare';

// ---------------------------------------------------------------- server side (child process)

async function serve(mode: Mode): Promise<void> {
  process.once('SIGINT', () => process.exit(0)); // a normal exit, so --cpu-prof writes its file
  const { default: pino } = await import('pino');
  const { loadConfig } = await import('../src/config.js');
  const { createDb, migrate } = await import('../src/db/knex.js');
  const { createServices } = await import('../src/http/services.js');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `lavendly-bench-${mode}-`));
  const validation = (process.env.BENCH_RESPONSE_VALIDATION ?? 'off') as 'off' | 'log' | 'throw';
  const config = { ...loadConfig(process.env), dataDir, rateLimitPerMinute: 0, responseValidation: validation, port: 0 };
  const db = createDb({ databaseUrl: config.databaseUrl, dataDir, pgSchema: undefined });
  await migrate(db);
  // Access logs are part of the stack: written, but to /dev/null so the terminal is not the bottleneck.
  const logger = pino({ level: 'info', redact: ['authorization'] }, pino.destination({ dest: '/dev/null', sync: false }));
  const services = await createServices({ config, db, logger });
  const { account, apiKey } = await services.accounts.createAccount({ name: `bench ${mode}`, credits: 0 });
  const { createWorkflow } = await import('../src/workflows/store.js');
  const { workflow } = await createWorkflow(db, account.id, { name: 'Bench fox', shots: SHOTS });

  let server: http.Server;
  if (mode === 'full') {
    const { createApp, startServer } = await import('../src/http/app.js');
    const app = await createApp({ config, db, services, logger });
    server = (await startServer({ app, db, logger, port: 0 })).server;
  } else {
    server = await bareServer(db, account.id, services, process.env.BENCH_BARE_AUTH_LOG ? logger : null);
  }
  const { port } = server.address() as { port: number };
  // A side channel for the parent: this process's CPU time, so cost per request can be read
  // even when other work on the machine makes throughput noisy.
  const control = http.createServer((_req, res) => res.end(JSON.stringify(process.cpuUsage())));
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', () => resolve()));
  const controlPort = (control.address() as { port: number }).port;
  process.stdout.write(`${JSON.stringify({ port, controlPort, key: apiKey.key, workflowId: workflow.id })}\n`);
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
  const { workflowsHandlers } = await import('../handlers/workflows.js');
  const { loadConfig } = await import('../src/config.js');
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
    const { accessLog } = await import('../src/http/logging.js');
    const { authenticate } = await import('../src/http/auth.js');
    app.use(accessLog(withAuthAndLog));
    app.use(authenticate(services.accounts, { secured: true, scopes: [] }));
  }
  app.use(router.routes());
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
}

// ---------------------------------------------------------------- load side (this process)

interface Target {
  child: ChildProcess;
  port: number;
  controlPort: number;
  key: string;
  workflowId: string;
}

async function startTarget(mode: Mode): Promise<Target> {
  const self = fileURLToPath(import.meta.url);
  // BENCH_PROFILE=1 writes a V8 CPU profile of each server into ./tmp/bench-prof (to find hot spots).
  const prof = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.resolve('tmp/bench-prof')] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', self, '--serve', mode], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'info' },
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return { child, ...JSON.parse(line) };
}

interface Result {
  count: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time (user + system) per request, in microseconds. */
  cpuUs: number;
}

async function serverCpu(target: Target): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${target.controlPort}/`);
  const { user, system } = (await res.json()) as { user: number; system: number };
  return user + system;
}

async function load(target: Target, op: 'get' | 'create', seconds: number, concurrency: number, max: number): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const deadline = performance.now() + seconds * 1000;
  const one = () => new Promise<void>((resolve) => {
    const t0 = performance.now();
    const req = http.request({
      host: '127.0.0.1', port: target.port, agent,
      method: op === 'get' ? 'GET' : 'POST',
      path: op === 'get' ? `/v1/workflows/${target.workflowId}` : '/v1/workflows',
      headers: op === 'get'
        ? { authorization: `Bearer ${target.key}` }
        : { authorization: `Bearer ${target.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(CREATE_BODY) },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== (op === 'get' ? 200 : 201)) errors++;
        latencies.push(performance.now() - t0);
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
    if (op === 'create') req.end(CREATE_BODY); else req.end();
  });
  const cpu0 = await serverCpu(target);
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline && sent < max) {
      sent++;
      await one();
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const cpu1 = await serverCpu(target);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return {
    count: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99),
    cpuUs: (cpu1 - cpu0) / Math.max(1, latencies.length),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '2' }, concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '5' }, max: { type: 'string', default: '20000' }, serve: { type: 'string' },
      'response-validation': { type: 'string', default: 'off' },
    },
  });
  if (values.serve) return serve(values.serve as Mode);
  process.env.BENCH_RESPONSE_VALIDATION = values['response-validation'];
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const max = Number(values.max);
  const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'SQLite';
  console.log(`HTTP stack bench: ${db}, ${os.cpus().length} cores, Node ${process.version}, ${concurrency} connections, ${seconds} s per scenario, ${rounds} interleaved rounds (medians), response validation ${values['response-validation']}`);
  const targets = { full: await startTarget('full'), bare: await startTarget('bare') };
  try {
    // Interleaved rounds, order flipped every round, medians reported: on a shared machine any
    // one run is noise, the per-round ratio (both measured back to back) much less so.
    const runs: Record<string, Result[]> = {};
    const ratios: Record<string, number[]> = { get: [], create: [] };
    const cpuRatios: Record<string, number[]> = { get: [], create: [] };
    for (const mode of ['bare', 'full'] as const) {
      for (const op of ['get', 'create'] as const) await load(targets[mode], op, 1, concurrency, max); // warm-up
    }
    for (let round = 0; round < rounds; round++) {
      for (const op of ['get', 'create'] as const) {
        const order = round % 2 ? (['full', 'bare'] as const) : (['bare', 'full'] as const);
        const got: Partial<Record<Mode, Result>> = {};
        for (const mode of order) {
          got[mode] = await load(targets[mode], op, seconds, concurrency, max);
          (runs[`${op}/${mode}`] ??= []).push(got[mode]!);
        }
        ratios[op]!.push(got.full!.rps / got.bare!.rps);
        cpuRatios[op]!.push(got.bare!.cpuUs / got.full!.cpuUs);
      }
    }
    const median = (xs: number[]) => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
    };
    const med = (rs: Result[]): Result => ({
      count: rs.reduce((n, r) => n + r.count, 0), errors: rs.reduce((n, r) => n + r.errors, 0),
      seconds: rs.reduce((n, r) => n + r.seconds, 0), rps: median(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), cpuUs: median(rs.map((r) => r.cpuUs)),
    });
    const row = (label: string, r: Result) =>
      `${label.padEnd(26)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   server CPU ${r.cpuUs.toFixed(0).padStart(5)} us/req   (${r.count} requests, ${r.errors} errors)`;
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}..${Math.max(...xs).toFixed(2)}`;
    for (const op of ['get', 'create'] as const) {
      const name = op === 'get' ? 'get_workflow' : 'create_workflow';
      const full = med(runs[`${op}/full`]!);
      const bare = med(runs[`${op}/bare`]!);
      console.log(row(`${name} bare Koa`, bare));
      console.log(row(`${name} full stack`, full));
      console.log(`${''.padEnd(26)} full/bare throughput: median ${median(ratios[op]!).toFixed(2)}x (rounds ${range(ratios[op]!)}); `
        + `by server CPU per request: median ${median(cpuRatios[op]!).toFixed(2)}x (rounds ${range(cpuRatios[op]!)}); p99 ${(full.p99 / bare.p99).toFixed(2)}x`);
    }
  } finally {
    // SIGINT lets a profiled child write its profile before exiting.
    for (const t of [targets.full, targets.bare]) {
      const exited = new Promise((resolve) => t.child.once('exit', resolve));
      t.child.kill('SIGINT');
      await exited;
    }
  }
}

await main();
