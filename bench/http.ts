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
 * at a constant rate, each with a scheduled send time, latency counted from that time. The sends
 * come from bench/load-generator.ts, a process of its own on the load cores that spins rather
 * than sleeps, so it keeps its schedule to within tens of microseconds on a quiet machine
 * (`npx tsx bench/open-loop-check.ts` measures that alone).
 * - `--load 0.25,0.5,0.75` (default 0.5; empty for none): rates as fractions of each server's own
 *   closed-loop throughput, its median in this session; `--rate 1000,2000`: the same requests per
 *   second for every server. Both may be given.
 * - `--open-rounds R` (default --rounds) interleaved rounds of `--seconds` each (at most --max
 *   requests); percentiles pool the rounds' requests. `--open-connections N` fixes the pool
 *   (default 50 ms of sends, 16-512), so a send finds an idle connection unless a stall took them all.
 * - Printed per server: p50/p90/p99/p99.9 and p99/p50 from the schedule; the same from the actual
 *   send (what a closed loop would see); the in-server p50/p99; the slowest 1% split into before,
 *   in and after the server; the share answered only after the server's event loop went round
 *   (e.g. waiting for a grouped commit), with their in-server p99 against the rest's; whether the
 *   generator kept its schedule (its own sends' lateness p50/p99/max: a p99 of 100 us or more is
 *   flagged, and so is the verdict), its stalls, GC and CPU waits, and how many sends waited for a
 *   connection; the server's loop delay,
 *   GC (and the share of the slowest 1% a GC pause fell within), CPU, and CPU waits. A closing
 *   table says at which loads each server kept p99 within 2x p50.
 * - BENCH_BEFORE_NODE_FLAGS gives the `--before` server V8 flags of its own: `--before .` then
 *   compares one checkout's full stack under two heap settings (e.g. node's defaults, as `serve`
 *   runs, against BENCH_NODE_FLAGS).
 *
 * Servers run in child processes (bench/http-server.ts) on loopback, over a fresh SQLite file on
 * tmpfs (DATABASE_URL switches to PostgreSQL); this process generates the load, pinned to other
 * cores than the servers (--pin on). Bounded: every scenario stops at --seconds or --max requests.
 * BENCH_PROFILE=1 writes a CPU profile of each server (start-up left out) to tmp/bench-prof;
 * BENCH_PROFILE=heap a sampling heap profile (bench/heap-summary.ts reads it).
 */
import os from 'node:os';
import { closedReport } from './http-report.js';
import { openReport } from './http-open-report.js';
import { readOptions } from './http-options.js';
import { runSession, type Tally } from './http-session.js';
import { beforeFlags, nodeFlags } from './http-targets.js';
import { LoadGenerator } from './open-loop.js';

const { settings, sessions, responseValidation, telemetry, sample } = await readOptions();
const { pinning, levels, clients } = settings;
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'SQLite';
console.log(`HTTP stack bench: ${db}, ${os.cpus().length} cores, Node ${process.version}, ${settings.concurrency} connections, `
  + `${settings.seconds} s per scenario, ${sessions} session(s) x ${settings.rounds} interleaved rounds (medians), `
  + `response validation ${responseValidation}, telemetry ${telemetry}${telemetry === 'tracing' || telemetry === 'all' ? ` (sample ${sample})` : ''}, baseline ${process.env.BENCH_BASELINE}`
  + `${process.env.BENCH_SAME_FOOTPRINT === '1' ? ' with the same footprint' : ', own footprint'}, `
  + `rate limit ${Number(process.env.BENCH_RATE_LIMIT) > 0 ? `on (${process.env.BENCH_RATE_LIMIT}/min)` : 'off'}, server flags ${nodeFlags.join(' ') || 'none'}${beforeFlags !== nodeFlags ? ` (before: ${beforeFlags.join(' ') || 'none'})` : ''}, `
  + `${pinning ? `servers on core ${pinning.server}, load on ${pinning.load}` : 'not pinned'}, load generator ${clients.map((c) => (c === 'raw' ? 'raw sockets' : 'node:http')).join(' and ')}`
  + `${levels.length ? `; then open loop at ${levels.map((l) => l.label).join(', ')}, ${settings.openRounds} round(s)` : ''}`);
const tally: Tally = { runs: {}, ratios: {}, cpuRatios: {}, bySession: {}, open: {} };
// The open-loop generator: one process for the whole run, started only when there is an open loop.
const generator = levels.length && settings.openRounds > 0 ? await LoadGenerator.start(pinning?.load ?? null) : null;
try {
  for (let i = 0; i < sessions; i++) await runSession(settings, tally, i, generator);
} finally {
  await generator?.close();
}
// `--rounds 0 --rate N`: open loop only (the closed-loop warm-up still runs).
if (settings.rounds > 0) closedReport(settings, tally);
if (levels.length) openReport(settings, tally);
