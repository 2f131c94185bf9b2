/**
 * HTTP stack overhead: requests/s, latency percentiles and server CPU per request of get_workflow
 * and create_workflow through the full stack (generated routes + runtime: auth, rate limit, body
 * reader, zod request validation, envelope, access log; response validation per flag) against
 * bare Koa + @koa/router routes calling the same handler functions (same database work).
 *
 *   npx tsx bench/http.ts [--seconds 2] [--rounds 5] [--sessions 1] [--concurrency 16] [--max 20000]
 *     [--ops get,create] [--control] [--references] [--baseline auth-log|plain] [--footprint same|own] [--pin on|off]
 *     [--before DIR] [--rate-limit 1e9] [--client node|raw|node,raw]
 *     [--response-validation off|log|throw]   (default off: the production setting; tests use throw)
 *     [--telemetry off|metrics|tracing|all]    (default off: the full server's metrics / OTLP tracing)
 *     [--sample 1]                             (share of requests traced, as LAVENDLY_TRACE_SAMPLE_RATIO)
 *     [--load 0.5] [--rate N,...] [--open-rounds R] [--open-connections N]   (open loop, below)
 *
 * What the ratio isolates is what the target names, generated routing + validation + envelope:
 * - `--baseline auth-log` (default): the baseline authenticates the API key and writes the access
 *   log line too, as the stack does; `plain` leaves both out; `full` is the full stack itself with
 *   telemetry off, which with `--telemetry all` gives the cost of metrics + tracing per request.
 * - `--footprint same` (default): the baseline process also builds the full app without serving it,
 *   so both processes hold the same code and heap and the ratio is per-request work only.
 * - `--control` adds a second bare server measured like the others: its ratio to the first
 *   (ideally 1.00x) is the noise floor of the method on this machine.
 * - `--references` adds a minimal Koa and a Fastify server (bench/reference-servers.ts) serving the
 *   same two routes from one better-sqlite3 table: an absolute scale for the per-request CPU.
 * - `--before DIR` adds the full stack of another checkout (e.g. a worktree of main), served by
 *   this harness: a change's before and after in one run, on the same machine load.
 * - Both servers take a token from the shared rate limit per request (`--rate-limit` requests per
 *   minute per key, never reached by default; 0 = off in both), as `serve` does.
 * - `--sessions N` starts fresh processes N times and pools the rounds: one process pair can be
 *   off by several percent for its whole life.
 *
 * Latency below capacity, without coordinated omission (bench/open-loop.ts): the closed loop above
 * keeps 16 requests queued at a saturated server, so its p99/p50 is mostly queueing. After the
 * closed-loop rounds of a session, every server is also driven open-loop, wrk2-style: requests
 * at a constant rate, each with a scheduled send time, latency counted from that time.
 * - `--load 0.25,0.5,0.75` (default 0.5; empty for none): rates as fractions of each server's own
 *   closed-loop throughput, its median in this session; `--rate 1000,2000`: the same requests per
 *   second for every server. Both may be given.
 * - `--open-rounds R` (default --rounds) interleaved rounds of `--seconds` each (at most --max
 *   requests); percentiles pool the rounds' requests. `--open-connections N` fixes the pool
 *   (default 50 ms of sends, 16-512), so a send finds an idle connection unless a stall took them all.
 * - Printed per server: p50/p90/p99/p99.9 and p99/p50 from the schedule; the same from the actual
 *   send (what a closed loop would see); the in-server p50/p99; the slowest 1% split into before,
 *   in and after the server; the share answered only after the server's event loop went round
 *   (e.g. waiting for a grouped commit), with their in-server p99 against the rest's; whether the generator kept its schedule (its own late sends; >= 0.1%
 *   over 1 ms late is flagged) and how many sends waited for a connection; the server's loop delay,
 *   GC (and the share of the slowest 1% a GC pause fell within), CPU, and CPU waits. A closing
 *   table says at which loads each server kept p99 within 2x p50.
 * - BENCH_BEFORE_NODE_FLAGS gives the `--before` server V8 flags of its own: `--before .` then
 *   compares one checkout's full stack under two heap settings (e.g. node's defaults, as `serve`
 *   runs, against BENCH_NODE_FLAGS).
 *
 * Servers run in child processes (bench/http-server.ts) on loopback, over a fresh SQLite file on
 * tmpfs (DATABASE_URL switches to PostgreSQL); this process generates the load, pinned to other
 * cores than the servers (--pin on). Bounded: every scenario stops at --seconds or --max requests.
 * BENCH_PROFILE=1 writes a CPU profile of each server (start-up left out) to tmp/bench-prof.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CREATE_BODY, type Mode } from './http-server.js';
import { RawConnection, rawRequest, type RawResponse } from './raw-client.js';
import { loopLag, monoUs, runQueueWaitMs, type ProbeReading } from './latency-probe.js';
import { runOpenLoop, type Connection } from './open-loop.js';

/** What is measured against the bare baseline: the full stack, optionally a second bare server,
 *  and optionally the reference servers (bench/reference-servers.ts). */
type Contender = 'full' | 'control' | 'koa-ref' | 'fastify-ref' | 'before';

interface Target {
  child: ChildProcess;
  port: number;
  controlPort: number;
  key: string;
  workflowId: string;
}

/**
 * With --pin on (the default where `taskset` exists and there are 2+ cores), every server runs on the
 * last core and this load generator on the others, so the two do not take turns on one core:
 * without it, identical servers measured back to back differ by up to 25% per round here.
 */
let pinning: { server: string; load: string } | null = null;

/**
 * V8 flags for the servers. A fixed young generation: V8 otherwise sizes it per process as it
 * goes, and two identical servers then settle at different sizes and differ by 10-15% for
 * their whole life. BENCH_NODE_FLAGS replaces them (empty: none).
 */
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '--min-semi-space-size=16 --max-semi-space-size=16').split(' ').filter(Boolean);
/**
 * BENCH_BEFORE_NODE_FLAGS: other V8 flags for the `--before` server alone, so one checkout's full
 * stack under two heap settings meets in one run (`--before .` with the flags to compare).
 */
const beforeFlags = process.env.BENCH_BEFORE_NODE_FLAGS === undefined ? nodeFlags : process.env.BENCH_BEFORE_NODE_FLAGS.split(' ').filter(Boolean);

function pinCores(): { server: string; load: string } | null {
  const cores = os.availableParallelism();
  if (cores < 2 || spawnSync('taskset', ['-V']).status !== 0) return null;
  const plan = { server: String(cores - 1), load: cores === 2 ? '0' : `0-${cores - 2}` };
  // -a: every thread of this process (libuv and V8 threads as well as the main one).
  if (spawnSync('taskset', ['-a', '-cp', plan.load, String(process.pid)]).status !== 0) return null;
  return plan;
}

/** `--before DIR`: the checkout the `before` contender serves. */
let beforeDir: string | null = null;

async function startTarget(mode: Mode | 'koa' | 'fastify', label: string): Promise<Target> {
  const reference = mode === 'koa' || mode === 'fastify';
  const server = fileURLToPath(new URL(reference ? './reference-servers.ts' : './http-server.ts', import.meta.url));
  const command = [process.execPath, ...(label === 'before' ? beforeFlags : nodeFlags), '--import', 'tsx', server, mode, label];
  if (pinning) command.unshift('taskset', '-c', pinning.server);
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'info', ...(label === 'before' && beforeDir ? { BENCH_SRC_ROOT: beforeDir } : {}) },
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
  tail: Tail;
}

/**
 * Where the time of slow requests went (bench/latency-probe.ts), in milliseconds unless named.
 * Each request's client-measured latency is split at the server's arrival ('request' event) and
 * response-head times: `pre` (client send + waiting on the server's socket + parsing), `inServer`
 * (the handler up to the response head) and `post` (the rest of the response to the client's
 * 'end', including the client's own delay in reading it).
 */
interface Tail {
  /** The client's p99/p50 and the same for the in-server durations (the server's own histogram). */
  clientRatio: number;
  serverRatio: number;
  serverP50: number;
  serverP99: number;
  /** Mean split of the slowest 1% of requests, and of the requests around the median. */
  slow: Split;
  typical: Split;
  serverLoopP99: number;
  serverLoopMax: number;
  clientLoopP99: number;
  clientLoopMax: number;
  /** This process's (the load generator's) CPU per request (us) and its share of one core. */
  clientCpuUs: number;
  clientBusy: number;
  /** Milliseconds per second that the server's / this process's main thread waited for a CPU. */
  serverWaitMsPerS: number;
  clientWaitMsPerS: number;
  scavengesPerS: number;
  scavengeMs: number;
  majorGcs: number;
  gcMaxMs: number;
}

interface Split { pre: number; inServer: number; post: number }

/** Reads (and resets) the server's probes; `turns` switches its turn probe for what follows. */
async function probe(target: Target, turns: 'on' | 'off' = 'off'): Promise<ProbeReading> {
  const res = await fetch(`http://127.0.0.1:${target.controlPort}/?turns=${turns}`);
  return (await res.json()) as ProbeReading;
}

/**
 * Which load generator sends the requests: node:http with a keep-alive agent, or bench/raw-client.ts.
 * `--client node,raw` runs every scenario with each, interleaved in the same rounds.
 */
type Client = 'node' | 'raw';
let clients: Client[] = ['node'];
let client: Client = 'node';
/** Results of the first client are keyed by the operation alone, the others' with their name. */
const opKey = (op: Op, c: Client): string => (c === clients[0] ? op : `${op}@${c}`);

/** One request over the connection a closed-loop worker holds: its status and x-bench-server header. */
type Send = () => Promise<RawResponse>;

function nodeSender(target: Target, op: 'get' | 'create', agent: http.Agent): Send {
  return () => new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: target.port, agent,
      method: op === 'get' ? 'GET' : 'POST',
      path: op === 'get' ? `/v1/workflows/${target.workflowId}` : '/v1/workflows',
      headers: op === 'get'
        ? { authorization: `Bearer ${target.key}` }
        : { authorization: `Bearer ${target.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(CREATE_BODY) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, benchServer: res.headers['x-bench-server'] as string | undefined }));
    });
    req.on('error', reject);
    if (op === 'create') req.end(CREATE_BODY); else req.end();
  });
}

function requestBytes(target: Target, op: 'get' | 'create'): Buffer {
  return op === 'get'
    ? rawRequest('GET', `/v1/workflows/${target.workflowId}`, { authorization: `Bearer ${target.key}` })
    : rawRequest('POST', '/v1/workflows', { authorization: `Bearer ${target.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(CREATE_BODY) }, CREATE_BODY);
}

async function load(target: Target, op: 'get' | 'create', seconds: number, concurrency: number, max: number): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const raw = client === 'raw'
    ? await Promise.all(Array.from({ length: concurrency }, () => RawConnection.open(target.port)))
    : [];
  const request = requestBytes(target, op);
  const senders: Send[] = Array.from({ length: concurrency }, (_, i) => (raw[i] ? () => raw[i]!.send(request) : nodeSender(target, op, agent)));
  /** Per request, microseconds: [total, pre, inServer, post]. */
  const samples: [number, number, number, number][] = [];
  let errors = 0;
  let sent = 0;
  const one = async (send: Send) => {
    const t0 = monoUs();
    try {
      const res = await send();
      const t1 = monoUs();
      if (res.status !== (op === 'get' ? 200 : 201)) errors++;
      const [arrival, head] = String(res.benchServer ?? '').split(',').map(Number);
      samples.push(arrival && head ? [t1 - t0, arrival - t0, head - arrival, t1 - head] : [t1 - t0, NaN, NaN, NaN]);
      return true;
    } catch {
      errors++;
      return client === 'node'; // a raw connection that failed is closed: its worker stops
    }
  };
  const before = await probe(target);
  const waits0 = [runQueueWaitMs(target.child.pid!), runQueueWaitMs(process.pid)];
  const lag = loopLag();
  const clientCpu0 = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(senders.map(async (send) => {
    while (performance.now() < deadline && sent < max) {
      sent++;
      if (!(await one(send))) break;
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const clientLoop = lag.stop();
  const clientCpu = process.cpuUsage(clientCpu0);
  const waits1 = [runQueueWaitMs(target.child.pid!), runQueueWaitMs(process.pid)];
  const after = await probe(target);
  agent.destroy();
  for (const c of raw) c.close();
  samples.sort((a, b) => a[0] - b[0]);
  const at = (p: number) => Math.min(samples.length - 1, Math.floor(samples.length * p));
  const pct = (p: number) => (samples[at(p)]?.[0] ?? NaN) / 1000;
  const split = (from: number, to: number): Split => {
    const part = samples.slice(at(from), Math.max(at(from) + 1, at(to)));
    const mean = (i: number) => part.reduce((n, s) => n + s[i]!, 0) / part.length / 1000;
    return { pre: mean(1), inServer: mean(2), post: mean(3) };
  };
  const perS = (i: number) => (waits0[i] === null || waits1[i] === null ? NaN : (waits1[i]! - waits0[i]!) / elapsed);
  const p50 = pct(0.5);
  const p99 = pct(0.99);
  const { inServer, gc } = after;
  return {
    count: samples.length, errors, seconds: elapsed, rps: samples.length / elapsed, p50, p99,
    cpuUs: ((after.user + after.system) - (before.user + before.system)) / Math.max(1, samples.length),
    tail: {
      clientRatio: p99 / p50, serverRatio: inServer.p99 / inServer.p50, serverP50: inServer.p50 / 1000, serverP99: inServer.p99 / 1000,
      slow: split(0.99, 1), typical: split(0.45, 0.55),
      serverLoopP99: after.loop.p99, serverLoopMax: after.loop.max, clientLoopP99: clientLoop.p99, clientLoopMax: clientLoop.max,
      clientCpuUs: (clientCpu.user + clientCpu.system) / Math.max(1, samples.length), clientBusy: (clientCpu.user + clientCpu.system) / 1e6 / elapsed,
      serverWaitMsPerS: perS(0), clientWaitMsPerS: perS(1),
      scavengesPerS: gc.minor / elapsed, scavengeMs: gc.minor ? gc.minorMs / gc.minor : 0, majorGcs: gc.major, gcMaxMs: gc.maxMs,
    },
  };
}

/** One open-loop scenario's figures (bench/open-loop.ts), pooled over rounds in the report. */
interface OpenResult {
  run: import('./open-loop.js').OpenLoopRun;
  /** What the server saw meanwhile: event-loop delay (ms) and GC. */
  serverLoopP99: number;
  serverLoopMax: number;
  gc: ProbeReading['gc'];
  gcPauses: ProbeReading['gcPauses'];
  turns: ProbeReading['turns'];
  cpuUs: number;
  /** This process's share of a core, and ms per second each process waited for a CPU. */
  clientBusy: number;
  serverWaitMsPerS: number;
  clientWaitMsPerS: number;
}

/** How each open-loop scenario's connections are made: the generator `--client` names. */
function connector(target: Target, op: Op): () => Promise<Connection> {
  if (client === 'raw') {
    const request = requestBytes(target, op);
    return async () => {
      const c = await RawConnection.open(target.port);
      return { send: () => c.send(request), close: () => c.close() };
    };
  }
  return async () => {
    // One socket per agent: a connection is busy or idle as a whole, as the pool expects.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    return { send: nodeSender(target, op, agent), close: () => agent.destroy() };
  };
}

/** `--load` / `--rate`: requests at a constant rate, latency counted from each one's scheduled send. */
async function openLoad(target: Target, op: Op, rate: number, seconds: number, max: number, connections: number): Promise<OpenResult> {
  const before = await probe(target, 'on');
  const waits0 = [runQueueWaitMs(target.child.pid!), runQueueWaitMs(process.pid)];
  const clientCpu0 = process.cpuUsage();
  const run = await runOpenLoop({ open: connector(target, op), rate, seconds, max, status: op === 'get' ? 200 : 201, connections });
  const clientCpu = process.cpuUsage(clientCpu0);
  const waits1 = [runQueueWaitMs(target.child.pid!), runQueueWaitMs(process.pid)];
  const after = await probe(target);
  const perS = (i: number) => (waits0[i] === null || waits1[i] === null ? NaN : (waits1[i]! - waits0[i]!) / run.seconds);
  return {
    run, serverLoopP99: after.loop.p99, serverLoopMax: after.loop.max, gc: after.gc, gcPauses: after.gcPauses, turns: after.turns,
    // The probe's reading spans the warm-up requests too; they are few beside the schedule's.
    cpuUs: ((after.user + after.system) - (before.user + before.system)) / Math.max(1, run.scheduled),
    clientBusy: (clientCpu.user + clientCpu.system) / 1e6 / run.seconds, serverWaitMsPerS: perS(0), clientWaitMsPerS: perS(1),
  };
}

/** Connections of an open-loop scenario: 50 ms of sends, so a stall that long still finds one idle
 *  for every send (the in-flight count is ~rate x latency, a few at these rates). */
const poolSize = (rate: number, fixed: number): number => (fixed > 0 ? fixed : Math.min(512, Math.max(16, Math.ceil(rate * 0.05))));

interface Settings {
  seconds: number;
  concurrency: number;
  rounds: number;
  max: number;
  ops: Op[];
  contenders: Contender[];
  /** Open-loop scenarios (`--load`, `--rate`), run after the closed-loop rounds of each session. */
  levels: Level[];
  openRounds: number;
  /** Connections opened before each open-loop schedule; 0: sized from the rate (poolSize). */
  openConnections: number;
}

/** An open-loop rate: a fraction of each server's own closed-loop throughput, or a fixed rate. */
type Level = { label: string; fraction: number; rate?: undefined } | { label: string; rate: number; fraction?: undefined };

type Op = 'get' | 'create';
type Name = Contender | 'bare';

/** Per-scenario results and per-round ratios (contender vs bare), keyed `op/name`. */
interface Tally {
  runs: Record<string, Result[]>;
  ratios: Record<string, number[]>;
  cpuRatios: Record<string, number[]>;
  /** Throughput ratios per session (fresh processes), to tell a process-lifetime bias from noise. */
  bySession: Record<string, number[][]>;
  /** Open-loop scenarios keyed `op/level/name`. */
  open: Record<string, OpenResult[]>;
}

/**
 * One session: fresh server processes, a warm-up, then interleaved rounds with the order rotated
 * every round. Fresh processes per session because two identical processes can differ by a few
 * percent for their whole life (JIT decisions, memory layout); sessions average that out.
 */
async function runSession(settings: Settings, tally: Tally, session: number): Promise<void> {
  const { seconds, concurrency, rounds, max, ops, contenders, levels, openRounds } = settings;
  /** This session's closed-loop throughput per `op/name`: what `--load` fractions are taken of. */
  const closedRps: Record<string, number[]> = {};
  const names: Name[] = ['bare', ...contenders];
  const targets = {} as Record<Name, Target>;
  try {
    const modes: Record<Name, Mode | 'koa' | 'fastify'> = { bare: 'bare', control: 'bare', full: 'full', 'koa-ref': 'koa', 'fastify-ref': 'fastify', before: 'full' };
    for (const name of names) targets[name] = await startTarget(modes[name], name);
    for (const c of clients) {
      client = c;
      for (const name of names) for (const op of ops) await load(targets[name], op, 1, concurrency, max);
    }
    for (let round = 0; round < rounds; round++) {
      // Each round starts with the next client, so neither always runs first.
      const rotated = clients.map((_, j) => clients[(j + round) % clients.length]!);
      for (const c of rotated) for (const bareOp of ops) {
        client = c;
        const op = opKey(bareOp, c);
        const order = names.map((_, i) => names[(i + round) % names.length]!);
        if (round % 2) order.reverse();
        const got = {} as Record<Name, Result>;
        for (const name of order) {
          got[name] = await load(targets[name], bareOp, seconds, concurrency, max);
          (tally.runs[`${op}/${name}`] ??= []).push(got[name]);
          (closedRps[`${op}/${name}`] ??= []).push(got[name].rps);
        }
        for (const name of contenders) {
          (tally.bySession[`${op}/${name}`] ??= [])[session] ??= [];
          tally.bySession[`${op}/${name}`]![session]!.push(got[name].rps / got.bare.rps);
          (tally.ratios[`${op}/${name}`] ??= []).push(got[name].rps / got.bare.rps);
          (tally.cpuRatios[`${op}/${name}`] ??= []).push(got.bare.cpuUs / got[name].cpuUs);
        }
        // `--before`: this checkout's full stack against the other's, round by round.
        if (got.before) (tally.cpuRatios[`${op}/full-vs-before`] ??= []).push(got.full.cpuUs / got.before.cpuUs);
      }
    }
    // Open loop: each server at a fixed rate, in rounds interleaved and rotated like the closed ones.
    for (let round = 0; round < openRounds && levels.length; round++) {
      const rotated = clients.map((_, j) => clients[(j + round) % clients.length]!);
      for (const c of rotated) for (const bareOp of ops) for (const level of levels) {
        client = c;
        const op = opKey(bareOp, c);
        const order = names.map((_, i) => names[(i + round) % names.length]!);
        if (round % 2) order.reverse();
        for (const name of order) {
          const rate = level.rate ?? level.fraction * median(closedRps[`${op}/${name}`] ?? [NaN]);
          if (!(rate > 0)) throw new Error(`--load needs a closed-loop throughput for ${op}/${name}: run with --rounds 1 or more`);
          const got = await openLoad(targets[name], bareOp, rate, seconds, max, poolSize(rate, settings.openConnections));
          (tally.open[`${op}/${level.label}/${name}`] ??= []).push(got);
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

/** Each tail figure's median over the rounds (per-round p99/p50 ratios, not a ratio of medians). */
function medianTail(ts: Tail[]): Tail {
  const of = <T>(pick: (t: Tail) => T) => ts.map(pick);
  const m = (pick: (t: Tail) => number) => median(of(pick));
  const split = (pick: (t: Tail) => Split): Split => ({ pre: m((t) => pick(t).pre), inServer: m((t) => pick(t).inServer), post: m((t) => pick(t).post) });
  return {
    clientRatio: m((t) => t.clientRatio), serverRatio: m((t) => t.serverRatio), serverP50: m((t) => t.serverP50), serverP99: m((t) => t.serverP99),
    slow: split((t) => t.slow), typical: split((t) => t.typical),
    serverLoopP99: m((t) => t.serverLoopP99), serverLoopMax: m((t) => t.serverLoopMax), clientLoopP99: m((t) => t.clientLoopP99), clientLoopMax: m((t) => t.clientLoopMax),
    clientCpuUs: m((t) => t.clientCpuUs), clientBusy: m((t) => t.clientBusy),
    serverWaitMsPerS: m((t) => t.serverWaitMsPerS), clientWaitMsPerS: m((t) => t.clientWaitMsPerS),
    scavengesPerS: m((t) => t.scavengesPerS), scavengeMs: m((t) => t.scavengeMs), majorGcs: m((t) => t.majorGcs), gcMaxMs: m((t) => t.gcMaxMs),
  };
}

/** Two lines under a scenario's row: the tail ratios and where the slowest requests' time went. */
function tailRow(t: Tail): string {
  const f = (n: number) => n.toFixed(2);
  const sp = (x: Split) => `${f(x.pre)} + ${f(x.inServer)} + ${f(x.post)}`;
  return `${''.padEnd(36)} tail: p99/p50 client ${f(t.clientRatio)}x, in server ${f(t.serverRatio)}x (${f(t.serverP50)} / ${f(t.serverP99)} ms); `
    + `pre + in server + post ms: slowest 1% ${sp(t.slow)}, median ${sp(t.typical)}\n`
    + `${''.padEnd(36)}       loop delay p99/max: server ${f(t.serverLoopP99)} / ${f(t.serverLoopMax)} ms, client ${f(t.clientLoopP99)} / ${f(t.clientLoopMax)} ms; `
    + `load generator ${t.clientCpuUs.toFixed(0)} us/req, ${(100 * t.clientBusy).toFixed(0)}% of a core; `
    + `waiting for a CPU: server ${t.serverWaitMsPerS.toFixed(0)} ms/s, client ${t.clientWaitMsPerS.toFixed(0)} ms/s; `
    + `GC: ${t.scavengesPerS.toFixed(1)} scavenges/s of ${f(t.scavengeMs)} ms, ${t.majorGcs} major steps, longest pause ${f(t.gcMaxMs)} ms`;
}

function report(settings: Settings, tally: Tally): void {
  const med = (rs: Result[]): Result => ({
    count: rs.reduce((n, r) => n + r.count, 0), errors: rs.reduce((n, r) => n + r.errors, 0),
    seconds: rs.reduce((n, r) => n + r.seconds, 0), rps: median(rs.map((r) => r.rps)),
    p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), cpuUs: median(rs.map((r) => r.cpuUs)),
    tail: medianTail(rs.map((r) => r.tail)),
  });
  const row = (label: string, r: Result) =>
    `${label.padEnd(36)} ${r.rps.toFixed(0).padStart(6)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms   server CPU ${r.cpuUs.toFixed(0).padStart(5)} us/req   (${r.count} requests, ${r.errors} errors)`;
  // With --baseline full the "bare" processes serve the full stack with telemetry off.
  const baseline = process.env.BENCH_BASELINE === 'full' ? 'full, telemetry off' : 'bare Koa';
  const telemetry = process.env.BENCH_TELEMETRY && process.env.BENCH_TELEMETRY !== 'off' ? `, telemetry ${process.env.BENCH_TELEMETRY}` : '';
  const labels: Record<Contender, string> = {
    full: `full stack${telemetry}`, control: `${baseline} again (A/A control)`,
    'koa-ref': 'reference: Koa + better-sqlite3', 'fastify-ref': 'reference: Fastify + ajv + better-sqlite3',
    before: `full stack of ${beforeDir}`,
  };
  // `--rounds 0 --rate N`: open loop only (the closed-loop warm-up still runs).
  if (settings.rounds > 0) for (const c of clients) for (const bareOp of settings.ops) {
    const op = opKey(bareOp, c);
    if (clients.length > 1 && bareOp === settings.ops[0]) console.log(`load generator: ${c === 'raw' ? 'raw sockets (bench/raw-client.ts)' : 'node:http'}`);
    const name = bareOp === 'get' ? 'get_workflow' : 'create_workflow';
    const bare = med(tally.runs[`${op}/bare`]!);
    console.log(row(`${name} ${baseline}`, bare));
    console.log(tailRow(bare.tail));
    for (const c of settings.contenders) {
      const r = med(tally.runs[`${op}/${c}`]!);
      const ratios = tally.ratios[`${op}/${c}`]!;
      const cpu = tally.cpuRatios[`${op}/${c}`]!;
      console.log(row(`${name} ${labels[c]}`, r));
      console.log(tailRow(r.tail));
      console.log(`${''.padEnd(36)} ${c}/bare: throughput median ${median(ratios).toFixed(2)}x (middle half of ${ratios.length} rounds ${quartiles(ratios)}); `
        + `by server CPU per request ${median(cpu).toFixed(2)}x (${quartiles(cpu)}); p99 ${(r.p99 / bare.p99).toFixed(2)}x`);
      const sessions = tally.bySession[`${op}/${c}`]!;
      if (sessions.length > 1) console.log(`${''.padEnd(36)} per session: ${sessions.map((xs) => `${median(xs).toFixed(2)}x`).join(', ')}`);
    }
    const vsBefore = tally.cpuRatios[`${op}/full-vs-before`];
    if (vsBefore) console.log(`${name} full stack / before: server CPU per request ${median(vsBefore).toFixed(2)}x (middle half ${quartiles(vsBefore)})`);
  }
  if (settings.levels.length) openReport(settings, tally, { bare: baseline, ...labels });
}

/** All rounds' values of one per-request figure, sorted (NaN, a request without it, left out). */
function pooled(runs: OpenResult[], pick: (r: OpenResult) => Float64Array): Float64Array {
  const parts = runs.map((r) => pick(r).filter((x) => !Number.isNaN(x)));
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return all.sort();
}
const q = (v: Float64Array, p: number): number => (v.length ? v[Math.min(v.length - 1, Math.floor(v.length * p))]! : NaN);
/** Microseconds as milliseconds; an unanswered request (Infinity) shows as such. */
const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(2) : 'inf');

/** Whether a GC pause of the server fell between request i's scheduled send and its answer. */
function overlapsPause(r: OpenResult, i: number): boolean {
  const from = r.run.scheduledUs[i]!;
  const to = from + r.run.latencyUs[i]!;
  return r.gcPauses.some(([start, duration]) => start < to && start + duration > from);
}

/** What the open-loop scenarios measured: per operation and rate, one block per server. */
function openReport(settings: Settings, tally: Tally, labels: Record<Name, string>): void {
  const names: Name[] = ['bare', ...settings.contenders];
  const pad = ''.padEnd(4);
  /** `op/name` -> per level, the pooled p99/p50: the summary at the end. */
  const verdicts: Record<string, string[]> = {};
  console.log('\nopen loop (wrk2-style): each request has a scheduled send at a constant rate; latency counts from it, so a stall '
    + `charges every request scheduled behind it. ${settings.openRounds} round(s) of ${settings.seconds} s per scenario, percentiles pooled over the rounds.`);
  for (const c of clients) for (const bareOp of settings.ops) for (const level of settings.levels) {
    const op = opKey(bareOp, c);
    const what = `${bareOp === 'get' ? 'get_workflow' : 'create_workflow'}`;
    const rateText = level.rate ? `${level.rate} req/s` : `${level.fraction} of each server's own closed-loop throughput`;
    console.log(`${what} at ${rateText}${clients.length > 1 ? `, load generator ${c === 'raw' ? 'raw sockets' : 'node:http'}` : ''}:`);
    for (const name of names) {
      const runs = tally.open[`${op}/${level.label}/${name}`];
      if (!runs?.length) continue;
      const lat = pooled(runs, (r) => r.run.latencyUs);
      const service = pooled(runs, (r) => r.run.serviceUs);
      const late = pooled(runs, (r) => r.run.lateUs);
      const inServer = pooled(runs, (r) => r.run.inServerUs);
      const ratio = q(lat, 0.99) / q(lat, 0.5);
      const perRound = runs.map((r) => { const v = Float64Array.from(r.run.latencyUs).sort(); return q(v, 0.99) / q(v, 0.5); });
      const met = ratio <= 2;
      // The slowest 1% by latency: mean time before the server took it (including a late send),
      // in the server, and after its response head.
      // [latency, pre, in server, post, overlapped a GC pause (1/0)] per answered request.
      const slow = runs.flatMap((r) => Array.from(r.run.latencyUs, (l, i) => [l, r.run.preUs[i]!, r.run.inServerUs[i]!, r.run.postUs[i]!,
        overlapsPause(r, i) ? 1 : 0]))
        .filter((x) => Number.isFinite(x[0]!) && !Number.isNaN(x[1]!)).sort((a, b) => a[0]! - b[0]!);
      const slowest = slow.slice(Math.floor(slow.length * 0.99));
      const gcShare = (xs: number[][]) => `${(100 * xs.reduce((n, x) => n + x[4]!, 0) / Math.max(1, xs.length)).toFixed(0)}%`;
      const mean = (i: number) => slowest.reduce((n, x) => n + x[i]!, 0) / Math.max(1, slowest.length);
      const sum = (pick: (r: OpenResult) => number) => runs.reduce((n, r) => n + pick(r), 0);
      const scheduled = sum((r) => r.run.scheduled);
      const lateOver = (us: number) => runs.reduce((n, r) => n + r.run.lateUs.filter((x) => x > us).length, 0) / Math.max(1, late.length);
      const m = (pick: (r: OpenResult) => number) => median(runs.map(pick));
      const rate = m((r) => r.run.rate);
      // A verdict is only the server's when the generator kept its schedule.
      (verdicts[`${op}/${name}`] ??= []).push(`${level.label} ${ratio.toFixed(2)}x ${met ? 'yes' : 'no'}${lateOver(1000) < 0.001 ? '' : ' (generator late)'}`);
      console.log(`  ${labels[name].padEnd(42)} ${rate.toFixed(0).padStart(6)} req/s   p50 ${ms(q(lat, 0.5))}  p90 ${ms(q(lat, 0.9))}  `
        + `p99 ${ms(q(lat, 0.99))}  p99.9 ${ms(q(lat, 0.999))} ms   p99/p50 ${ratio.toFixed(2)}x (rounds ${quartiles(perRound)}) `
        + `${met ? 'within 2x' : 'over 2x'}   (${scheduled} requests, ${sum((r) => r.run.errors)} errors, ${sum((r) => r.run.unfinished)} unanswered)`);
      console.log(`${pad}${''.padEnd(42)} from the actual send p50/p99 ${ms(q(service, 0.5))} / ${ms(q(service, 0.99))} ms; `
        + `in server p50/p99 ${ms(q(inServer, 0.5))} / ${ms(q(inServer, 0.99))} ms (${(q(inServer, 0.99) / q(inServer, 0.5)).toFixed(2)}x); `
        + `slowest 1% pre + in server + post ${ms(mean(1))} + ${ms(mean(2))} + ${ms(mean(3))} ms; `
        + `answered after a loop turn ${(100 * sum((r) => r.turns.crossed.count) / Math.max(1, sum((r) => r.turns.crossed.count + r.turns.same.count))).toFixed(0)}%, `
        + `in-server p99 ${ms(m((r) => r.turns.crossed.p99))} ms against ${ms(m((r) => r.turns.same.p99))} ms for the rest`);
      console.log(`${pad}${''.padEnd(42)} schedule (sends that found a connection idle): late p50/p99/max ${ms(q(late, 0.5))} / ${ms(q(late, 0.99))} / ${ms(q(late, 1))} ms, `
        + `${(100 * lateOver(1000)).toFixed(2)}% over 1 ms${lateOver(1000) < 0.001 ? ' (kept)' : ' (NOT kept)'}; `
        + `connections ${m((r) => r.run.connections)}, ${sum((r) => r.run.queued)} sends waited for one, max in flight ${Math.max(...runs.map((r) => r.run.maxInFlight))}; `
        + `load generator ${(100 * m((r) => r.clientBusy)).toFixed(0)}% of a core`);
      console.log(`${pad}${''.padEnd(42)} server: CPU ${m((r) => r.cpuUs).toFixed(0)} us/req, loop delay p99/max ${m((r) => r.serverLoopP99).toFixed(2)} / ${Math.max(...runs.map((r) => r.serverLoopMax)).toFixed(2)} ms, `
        + `GC ${(sum((r) => r.gc.minor) / sum((r) => r.run.seconds)).toFixed(1)} scavenges/s of ${(sum((r) => r.gc.minorMs) / Math.max(1, sum((r) => r.gc.minor))).toFixed(2)} ms, `
        + `${sum((r) => r.gc.major)} major steps, longest pause ${Math.max(...runs.map((r) => r.gc.maxMs)).toFixed(2)} ms, `
        + `a pause fell within ${gcShare(slowest)} of the slowest 1% and ${gcShare(slow)} of all; `
        + `waiting for a CPU: server ${m((r) => r.serverWaitMsPerS).toFixed(0)} ms/s, load generator ${m((r) => r.clientWaitMsPerS).toFixed(0)} ms/s`);
    }
  }
  console.log('p99 within 2x p50 (open loop, pooled):');
  for (const [key, list] of Object.entries(verdicts)) {
    const [op, name] = key.split('/') as [string, Name];
    console.log(`  ${op.padEnd(12)} ${labels[name].padEnd(42)} ${list.join(';  ')}`);
  }
}

/** A collector stand-in for the servers' spans: reads and drops each OTLP post. Never holds the process open. */
async function otlpSink(): Promise<string> {
  const sink = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('{}')); });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', () => resolve()));
  sink.unref();
  return `http://127.0.0.1:${(sink.address() as { port: number }).port}/v1/traces`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '2' }, concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '5' }, sessions: { type: 'string', default: '1' },
      max: { type: 'string', default: '20000' },
      'response-validation': { type: 'string', default: 'off' }, ops: { type: 'string', default: 'get,create' },
      control: { type: 'boolean', default: false }, references: { type: 'boolean', default: false }, pin: { type: 'string', default: 'on' },
      baseline: { type: 'string', default: 'auth-log' }, footprint: { type: 'string', default: 'same' },
      telemetry: { type: 'string', default: 'off' }, sample: { type: 'string', default: '1' },
      before: { type: 'string' }, 'rate-limit': { type: 'string', default: '1e9' }, client: { type: 'string', default: 'node' },
      load: { type: 'string', default: '0.5' }, rate: { type: 'string', default: '' },
      'open-rounds': { type: 'string' }, 'open-connections': { type: 'string', default: '0' },
    },
  });
  // Read by the server processes (bench/http-server.ts).
  process.env.BENCH_RESPONSE_VALIDATION = values['response-validation'];
  process.env.BENCH_BASELINE = values.baseline === 'plain' || values.baseline === 'full' ? values.baseline : 'auth-log';
  process.env.BENCH_TELEMETRY = values.telemetry;
  process.env.BENCH_TRACE_SAMPLE_RATIO = values.sample;
  if (values.telemetry === 'tracing' || values.telemetry === 'all') process.env.BENCH_OTLP_URL = await otlpSink();
  process.env.BENCH_SAME_FOOTPRINT = values.footprint === 'own' ? '0' : '1';
  process.env.BENCH_RATE_LIMIT = String(Number(values['rate-limit']));
  beforeDir = values.before ?? null;
  clients = values.client.split(',').filter(Boolean) as Client[];
  if (!clients.length || clients.some((c) => c !== 'node' && c !== 'raw')) throw new Error(`--client must be node, raw or node,raw (got ${values.client})`);
  const levels: Level[] = [
    ...values.load.split(',').filter(Boolean).map((f) => ({ label: `${Number(f)}x`, fraction: Number(f) })),
    ...values.rate.split(',').filter(Boolean).map((r) => ({ label: `${Number(r)}/s`, rate: Number(r) })),
  ];
  if (levels.some((l) => !((l.fraction ?? l.rate)! > 0))) throw new Error(`--load takes fractions like 0.25,0.5 and --rate requests per second (got ${values.load} / ${values.rate})`);
  const settings: Settings = {
    seconds: Number(values.seconds), concurrency: Number(values.concurrency), rounds: Number(values.rounds),
    max: Number(values.max), ops: values.ops.split(',').filter((o): o is Op => o === 'get' || o === 'create'),
    // `--control` adds a second, identical bare server: its ratio to the first (ideally 1.00x)
    // shows how much of a ratio is this machine's noise.
    // `--references` adds minimal Koa and Fastify servers on one better-sqlite3 table: what a
    // request costs with nearly nothing but framework and driver, beside our own figure.
    contenders: ['full', ...(values.before ? ['before' as const] : []), ...(values.control ? ['control' as const] : []),
      ...(values.references ? ['koa-ref' as const, 'fastify-ref' as const] : [])],
    levels, openRounds: Number(values['open-rounds'] ?? values.rounds), openConnections: Number(values['open-connections']),
  };
  const sessions = Number(values.sessions);
  if (values.pin !== 'off') pinning = pinCores();
  const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'SQLite';
  console.log(`HTTP stack bench: ${db}, ${os.cpus().length} cores, Node ${process.version}, ${settings.concurrency} connections, `
    + `${settings.seconds} s per scenario, ${sessions} session(s) x ${settings.rounds} interleaved rounds (medians), `
    + `response validation ${values['response-validation']}, telemetry ${values.telemetry}${values.telemetry === 'tracing' || values.telemetry === 'all' ? ` (sample ${values.sample})` : ''}, baseline ${process.env.BENCH_BASELINE}`
    + `${process.env.BENCH_SAME_FOOTPRINT === '1' ? ' with the same footprint' : ', own footprint'}, `
    + `rate limit ${Number(process.env.BENCH_RATE_LIMIT) > 0 ? `on (${process.env.BENCH_RATE_LIMIT}/min)` : 'off'}, server flags ${nodeFlags.join(' ') || 'none'}${beforeFlags !== nodeFlags ? ` (before: ${beforeFlags.join(' ') || 'none'})` : ''}, `
    + `${pinning ? `servers on core ${pinning.server}, load on ${pinning.load}` : 'not pinned'}, load generator ${clients.map((c) => (c === 'raw' ? 'raw sockets' : 'node:http')).join(' and ')}`
    + `${levels.length ? `; then open loop at ${levels.map((l) => l.label).join(', ')}, ${settings.openRounds} round(s)` : ''}`);
  const tally: Tally = { runs: {}, ratios: {}, cpuRatios: {}, bySession: {}, open: {} };
  for (let i = 0; i < sessions; i++) await runSession(settings, tally, i);
  report(settings, tally);
}

await main();
