/**
 * The open-loop load generator's process (started and driven by bench/open-loop.ts). It sends
 * requests on a fixed schedule, wrk2-style: request i is due at start + i / rate, and its latency
 * counts from that time, so a stall is charged to every request scheduled behind it.
 *
 * Why a process of its own that spins: timers in Node fire a millisecond late or more, and a
 * thread that sleeps until a send is due wakes tens to hundreds of microseconds late on a VM,
 * more when a busy process shares its core. Here the event loop never sleeps during a run: each
 * turn ends with a setImmediate, which makes libuv poll for I/O with a zero timeout, and each turn
 * reads the clock and sends whatever is due. A turn takes a few microseconds, so a send goes out
 * as late as the answer being read at that moment (tens of microseconds) at worst. The cost is
 * one core busy for the run, which is why this is not bench/http.ts's own process: that one only
 * reads probes and the servers run on the other core (the parent pins this process to its cores).
 *
 * Answers are read the same way: no wake-up from a sleep sits between their arrival and the time
 * taken here. Every send's lateness (actual send - scheduled) is recorded, so the report can show
 * that the schedule was kept, with this process's own GC pauses and CPU.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { connector, type Client, type Connection, type RequestSpec } from './http-requests.js';
import type { OpenLoopOptions, OpenLoopRun } from './open-loop.js';

/** Microseconds on the monotonic clock every process shares (the server's x-bench-server times).
 *  performance.now() reads the same clock, cheaper than hrtime.bigint(); its origin is found once. */
const origin = (() => {
  let best = Infinity;
  let offsetUs = 0;
  for (let i = 0; i < 200; i++) {
    const before = performance.now();
    const hr = Number(process.hrtime.bigint()) / 1000;
    const after = performance.now();
    // The pair read closest together gives the tightest offset.
    if (after - before < best) { best = after - before; offsetUs = hr - ((before + after) / 2) * 1000; }
  }
  return offsetUs;
})();
const now = (): number => origin + performance.now() * 1000;

/**
 * How long one turn of the loop may stay before it lets I/O in: a send due meanwhile goes out at
 * once, an answer arriving meanwhile is read up to this late. Each turn's setImmediate allocates
 * ~400 bytes, so turns of a few microseconds made a 64 MB young generation's scavenge (~1 ms)
 * several times a second; 10 us turns make it about once a second. BENCH_GENERATOR_TURN_US sets
 * it (10, 50 and 200 us kept the schedule alike here).
 */
const TURN_US = Number(process.env.BENCH_GENERATOR_TURN_US ?? 10);
const STALL_US = 200;

/** Where the spin's sums go, so the loop is not optimised away. */
let spinSink = 0;
/** About `n` iterations of a loop that reads no clock. */
const spin = (n: number) => { for (let i = 0; i < n; i++) spinSink = (spinSink + i) | 0; };
/** Iterations of `spin` per microsecond, measured once, after the loop has been optimised (the
 *  first passes run slower): the spin within a turn reads the clock only every microsecond or so,
 *  as each read allocates a few dozen bytes. */
const loopsPerUs = (() => {
  let perUs = 1;
  for (let pass = 0; pass < 5; pass++) {
    const t0 = performance.now();
    spin(perUs * 2000);
    perUs = Math.max(1, Math.round((perUs * 2000) / ((performance.now() - t0) * 1000)));
  }
  return perUs;
})();
/** About a microsecond of spinning. */
const pause = () => spin(loopsPerUs);

/** This process's GC pauses during a run (count and the longest), for the report. */
const gc = { count: 0, maxMs: 0, totalMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) { gc.count++; gc.totalMs += e.duration; gc.maxMs = Math.max(gc.maxMs, e.duration); }
}).observe({ entryTypes: ['gc'] });

async function openPool(open: () => Promise<Connection>, size: number): Promise<Connection[]> {
  // Opened 16 at a time (the server's accept queue), each warmed with one request before the schedule.
  const pool: Connection[] = [];
  while (pool.length < size) {
    const batch = await Promise.all(Array.from({ length: Math.min(16, size - pool.length) }, () => open()));
    await Promise.all(batch.map((c) => c.send().catch(() => null)));
    pool.push(...batch);
  }
  return pool;
}

async function runSchedule(spec: RequestSpec, client: Client, options: OpenLoopOptions): Promise<OpenLoopRun> {
  const { rate } = options;
  const total = Math.max(1, Math.min(options.max, Math.floor(rate * options.seconds)));
  const idle = await openPool(connector(spec, client), options.connections);
  const all = new Set<Connection>(idle);
  const run: OpenLoopRun = {
    rate, scheduled: total, ok: 0, errors: 0, unfinished: 0, seconds: 0,
    latencyUs: new Float64Array(total).fill(Infinity), scheduledUs: new Float64Array(total), serviceUs: new Float64Array(total).fill(Infinity),
    lateUs: new Float64Array(total).fill(NaN), preUs: new Float64Array(total).fill(NaN), inServerUs: new Float64Array(total).fill(NaN),
    postUs: new Float64Array(total).fill(NaN), connections: idle.length, queued: 0, maxInFlight: 0,
    generator: { gcs: 0, gcMaxMs: 0, gcMs: 0, busy: 0, turns: 0, stalls: 0, stallMs: 0, longestStallMs: 0 },
  };
  const interval = 1e6 / rate;
  const graceUs = (options.graceMs ?? 5000) * 1000;
  // A full collection now (with --expose-gc) moves what lives on into the old generation, so the
  // first scavenge of the schedule does not pay for copying it.
  (globalThis as { gc?: () => void }).gc?.();
  // Its own entry reaches the observer a moment later: let it in before the counts start.
  await new Promise((resolve) => setTimeout(resolve, 20));
  Object.assign(gc, { count: 0, maxMs: 0, totalMs: 0 });
  const cpu0 = process.cpuUsage();
  // A little ahead, so the first sends are not late for the set-up of the loop below.
  const start = now() + 2000;
  let inFlight = 0;
  let answered = 0;
  let lastAnswer = start;
  let next = 0;
  /** Sends due while every connection was busy, in schedule order. */
  const backlog: number[] = [];

  const fire = (i: number, conn: Connection, queued: boolean) => {
    const scheduledAt = start + i * interval;
    const sentAt = now();
    run.scheduledUs[i] = scheduledAt;
    // A send that waited for a connection is late because of the server, not of this process.
    if (!queued) run.lateUs[i] = sentAt - scheduledAt;
    inFlight++;
    if (inFlight > run.maxInFlight) run.maxInFlight = inFlight;
    conn.send().then((res) => {
      const end = now();
      run.latencyUs[i] = end - scheduledAt;
      run.serviceUs[i] = end - sentAt;
      const [arrival, head] = String(res.benchServer ?? '').split(',').map(Number);
      if (arrival && head) { run.preUs[i] = arrival - scheduledAt; run.inServerUs[i] = head - arrival; run.postUs[i] = end - head; }
      if (res.status === spec.status) run.ok++; else run.errors++;
      const waiting = backlog.shift();
      if (waiting !== undefined) fire(waiting, conn, true);
      else idle.push(conn);
    }, () => {
      // A failed connection is dropped; the request counts as an error (and infinitely slow).
      run.errors++;
      all.delete(conn);
      conn.close();
    }).finally(() => {
      inFlight--;
      answered++;
      lastAnswer = now();
    });
  };

  await new Promise<void>((resolve) => {
    const deadline = start + total * interval + graceUs;
    let previous = now();
    const g = run.generator;
    const sendDue = (t: number) => {
      while (next < total && start + next * interval <= t) {
        const i = next++;
        // LIFO: the most recently used connections stay hot; the rest of the pool waits idle.
        const conn = idle.pop();
        if (conn) fire(i, conn, false);
        else { run.queued++; backlog.push(i); }
      }
    };
    const turn = () => {
      g.turns++;
      const t0 = now();
      // A gap between two turns over 0.2 ms: this process did not run (or ran something long).
      const gap = t0 - previous;
      if (gap > STALL_US) { g.stalls++; g.stallMs += gap / 1000; if (gap / 1000 > g.longestStallMs) g.longestStallMs = gap / 1000; }
      // Each turn stays up to TURN_US, sending what falls due meanwhile, before it lets I/O in.
      let t = t0;
      for (;;) {
        sendDue(t);
        if (next >= total || t - t0 >= TURN_US) break;
        const until = Math.min(t0 + TURN_US, start + next * interval);
        while ((t = now()) < until) pause();
      }
      previous = t;
      // Bounded: answers still out this long after the last scheduled send are given up on.
      if (answered === total || t > deadline) resolve();
      else setImmediate(turn);
    };
    setImmediate(turn);
  });
  const cpu = process.cpuUsage(cpu0);
  run.unfinished = total - answered;
  run.seconds = ((run.unfinished ? now() : lastAnswer) - start) / 1e6;
  Object.assign(run.generator, { gcs: gc.count, gcMaxMs: gc.maxMs, gcMs: gc.totalMs, busy: (cpu.user + cpu.system) / 1e6 / run.seconds });
  for (const c of all) c.close();
  return run;
}

type Message = { type: 'run'; spec: RequestSpec; client: Client; options: OpenLoopOptions };

process.on('message', (message: Message) => {
  if (message.type !== 'run') return;
  runSchedule(message.spec, message.client, message.options).then(
    (run) => process.send!({ type: 'done', run }),
    (err: Error) => process.send!({ type: 'failed', error: String(err.stack ?? err) }),
  );
});
// The parent's end (or its crash) ends this process.
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
