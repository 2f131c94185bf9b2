/**
 * HTTP stack overhead: requests/s and latency percentiles of get_workflow and create_workflow
 * through the full stack (generated routes + runtime: auth, rate limit, body reader, zod request
 * validation, envelope, access log; response validation per flag) against bare Koa + @koa/router
 * routes calling the same handler functions (same database work), measured in the same run.
 *
 *   npx tsx bench/http.ts [--seconds 2] [--concurrency 16] [--rounds 5] [--max 20000] [--ops get,create] [--control] [--no-pin]
 *     [--sessions 1]   (fresh server processes per session; per-round ratios are pooled)
 *     [--response-validation off|log|throw]   (default off: the production setting; tests use throw)
 *   BENCH_BARE_AUTH_LOG=1 gives the baseline the same API-key auth and access log as the stack, so
 *   the ratio isolates what the target names: generated routing + validation + envelope.
 *   --control adds a second bare server measured like the others: its ratio to the first (ideally
 *   1.00x) is the noise floor of the method on this machine, to read the other ratios against.
 *
 * Each server runs in its own child process on loopback over a fresh SQLite file on tmpfs
 * (DATABASE_URL switches to PostgreSQL); the load generator is this process, pinned to other
 * cores than the servers (see --pin). Bounded: every scenario stops at --seconds or --max requests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
/** What is measured against the bare baseline: the full stack, and optionally a second bare server. */
type Contender = 'full' | 'control';

// ---------------------------------------------------------------- server side (child process)

async function serve(mode: Mode, label: string): Promise<void> {
  process.once('SIGINT', () => process.exit(0));
  const { default: pino } = await import('pino');
  const { loadConfig } = await import('../src/config.js');
  const { createDb, migrate } = await import('../src/db/knex.js');
  const { createServices } = await import('../src/http/services.js');
  // On tmpfs where there is one: the disk's checkpoint flushes otherwise land in random rounds.
  const root = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dataDir = fs.mkdtempSync(path.join(root, `lavendly-bench-${label}-`));
  process.once('exit', () => fs.rmSync(dataDir, { recursive: true, force: true }));
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
  if (process.env.BENCH_PROFILE) await profileUntilSigint(label);
  process.stdout.write(`${JSON.stringify({ port, controlPort, key: apiKey.key, workflowId: workflow.id })}\n`);
}

/**
 * BENCH_PROFILE=1: a V8 CPU profile of this server from now (start-up left out) until the parent
 * stops it, written to tmp/bench-prof/<label>.cpuprofile for finding hot spots.
 */
async function profileUntilSigint(label: string): Promise<void> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  process.removeAllListeners('SIGINT');
  process.once('SIGINT', async () => {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync('tmp/bench-prof', { recursive: true });
    fs.writeFileSync(`tmp/bench-prof/${label}.cpuprofile`, JSON.stringify(profile));
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

/**
 * With --pin (the default where `taskset` exists and there are 2+ cores), every server runs on the
 * last core and this load generator on the others, so the two do not take turns on one core:
 * without it, identical servers measured back to back differ by up to 25% per round here.
 */
let pinning: { server: string; load: string } | null = null;

function pinCores(): { server: string; load: string } | null {
  const cores = os.availableParallelism();
  if (cores < 2 || spawnSync('taskset', ['-V']).status !== 0) return null;
  const plan = { server: String(cores - 1), load: cores === 2 ? '0' : `0-${cores - 2}` };
  // -a: every thread of this process (libuv and V8 threads as well as the main one).
  if (spawnSync('taskset', ['-a', '-cp', plan.load, String(process.pid)]).status !== 0) return null;
  return plan;
}

async function startTarget(mode: Mode, label: string): Promise<Target> {
  const self = fileURLToPath(import.meta.url);
  const command = [process.execPath, '--import', 'tsx', self, '--serve', mode, '--label', label];
  if (pinning) command.unshift('taskset', '-c', pinning.server);
  const child = spawn(command[0]!, command.slice(1), {
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

interface Settings {
  seconds: number;
  concurrency: number;
  rounds: number;
  max: number;
  ops: Op[];
  contenders: Contender[];
}

type Op = 'get' | 'create';
type Name = Contender | 'bare';

/** Per-scenario results and per-round ratios (contender vs bare), keyed `op/name`. */
interface Tally {
  runs: Record<string, Result[]>;
  ratios: Record<string, number[]>;
  cpuRatios: Record<string, number[]>;
}

/**
 * One session: fresh server processes, a warm-up, then interleaved rounds with the order rotated
 * every round. Fresh processes per session because two identical processes can differ by a few
 * percent for their whole life (JIT decisions, memory layout); sessions average that out.
 */
async function runSession(settings: Settings, tally: Tally): Promise<void> {
  const { seconds, concurrency, rounds, max, ops, contenders } = settings;
  const names: Name[] = ['bare', ...contenders];
  const targets = {} as Record<Name, Target>;
  try {
    for (const name of names) targets[name] = await startTarget(name === 'full' ? 'full' : 'bare', name);
    for (const name of names) for (const op of ops) await load(targets[name], op, 1, concurrency, max);
    for (let round = 0; round < rounds; round++) {
      for (const op of ops) {
        const order = names.map((_, i) => names[(i + round) % names.length]!);
        if (round % 2) order.reverse();
        const got = {} as Record<Name, Result>;
        for (const name of order) {
          got[name] = await load(targets[name], op, seconds, concurrency, max);
          (tally.runs[`${op}/${name}`] ??= []).push(got[name]);
        }
        for (const name of contenders) {
          (tally.ratios[`${op}/${name}`] ??= []).push(got[name].rps / got.bare.rps);
          (tally.cpuRatios[`${op}/${name}`] ??= []).push(got.bare.cpuUs / got[name].cpuUs);
        }
      }
    }
  } finally {
    // SIGINT lets a profiled child write its profile before exiting (BENCH_PROFILE).
    for (const t of Object.values(targets)) {
      const exited = new Promise((resolve) => t.child.once('exit', resolve));
      t.child.kill('SIGINT');
      await exited;
    }
  }
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

/** The middle half of the per-round ratios: how far apart rounds fall, beyond the median. */
function quartiles(xs: number[]): string {
  const v = [...xs].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
  return `${at(0.25).toFixed(2)}..${at(0.75).toFixed(2)}`;
}

function report(settings: Settings, tally: Tally): void {
  const med = (rs: Result[]): Result => ({
    count: rs.reduce((n, r) => n + r.count, 0), errors: rs.reduce((n, r) => n + r.errors, 0),
    seconds: rs.reduce((n, r) => n + r.seconds, 0), rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), cpuUs: median(rs.map((r) => r.cpuUs)),
  });
  const row = (label: string, r: Result) =>
    `${label.padEnd(36)} ${r.rps.toFixed(0).padStart(6)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms   server CPU ${r.cpuUs.toFixed(0).padStart(5)} us/req   (${r.count} requests, ${r.errors} errors)`;
  const labels: Record<Contender, string> = { full: 'full stack', control: 'bare Koa again (A/A control)' };
  for (const op of settings.ops) {
    const name = op === 'get' ? 'get_workflow' : 'create_workflow';
    const bare = med(tally.runs[`${op}/bare`]!);
    console.log(row(`${name} bare Koa`, bare));
    for (const c of settings.contenders) {
      const r = med(tally.runs[`${op}/${c}`]!);
      const ratios = tally.ratios[`${op}/${c}`]!;
      const cpu = tally.cpuRatios[`${op}/${c}`]!;
      console.log(row(`${name} ${labels[c]}`, r));
      console.log(`${''.padEnd(36)} ${c}/bare: throughput median ${median(ratios).toFixed(2)}x (middle half of ${ratios.length} rounds ${quartiles(ratios)}); `
        + `by server CPU per request ${median(cpu).toFixed(2)}x (${quartiles(cpu)}); p99 ${(r.p99 / bare.p99).toFixed(2)}x`);
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '2' }, concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '5' }, sessions: { type: 'string', default: '1' },
      max: { type: 'string', default: '20000' }, serve: { type: 'string' },
      'response-validation': { type: 'string', default: 'off' }, ops: { type: 'string', default: 'get,create' },
      control: { type: 'boolean', default: false }, label: { type: 'string' }, pin: { type: 'boolean', default: true },
    },
  });
  if (values.serve) return serve(values.serve as Mode, values.label ?? values.serve);
  process.env.BENCH_RESPONSE_VALIDATION = values['response-validation'];
  const settings: Settings = {
    seconds: Number(values.seconds), concurrency: Number(values.concurrency), rounds: Number(values.rounds),
    max: Number(values.max), ops: values.ops.split(',').filter((o): o is Op => o === 'get' || o === 'create'),
    // `--control` adds a second, identical bare server: its ratio to the first (ideally 1.00x)
    // shows how much of a ratio is this machine's noise.
    contenders: values.control ? ['full', 'control'] : ['full'],
  };
  const sessions = Number(values.sessions);
  if (values.pin) pinning = pinCores();
  const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'SQLite';
  console.log(`HTTP stack bench: ${db}, ${os.cpus().length} cores, Node ${process.version}, ${settings.concurrency} connections, `
    + `${settings.seconds} s per scenario, ${sessions} session(s) x ${settings.rounds} interleaved rounds (medians), `
    + `response validation ${values['response-validation']}, `
    + `${pinning ? `servers on core ${pinning.server}, load on ${pinning.load}` : 'not pinned'}`);
  const tally: Tally = { runs: {}, ratios: {}, cpuRatios: {} };
  for (let i = 0; i < sessions; i++) await runSession(settings, tally);
  report(settings, tally);
}

await main();
