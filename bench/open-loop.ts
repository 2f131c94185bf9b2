/**
 * An open-loop load generator for bench/http.ts (`--load`, `--rate`), measured without coordinated
 * omission, the way wrk2 does it: request i has a scheduled send time, start + i / rate, fixed
 * before the run; its latency counts from that time, not from when it was really sent. A server
 * that stalls for 20 ms therefore delays, and is charged for, every request scheduled during the
 * stall, instead of the closed loop's one slow request followed by a pause in sending.
 *
 * Sends do not wait for a busy connection: each goes out on an idle one from a pool opened (and
 * warmed) before the schedule starts, sized by the caller for far more requests in flight than the
 * rate needs. Only when a stall has taken every connection does a send wait for the first one to
 * free (counted in `queued`; its latency still counts from its schedule). The pool never grows
 * during a run: a burst of new connections to a stalled server overflows its accept queue, and
 * the kernel retries a dropped SYN only after a second, which would bench the TCP stack instead.
 * How late each send was is recorded (`lateUs`), so the caller can tell whether the generator kept
 * its schedule.
 *
 * Timers in Node fire at millisecond granularity, coarser than a request's latency here (~0.3 ms),
 * and spinning on setImmediate would keep a core busy and, on a shared machine, lose the
 * scheduler's preference for waking tasks. So a metronome thread sleeps until each send is due
 * (Atomics.wait, which takes fractional milliseconds, then a spin of the last ~0.1 ms that the
 * wait's own wake-up would overshoot) and posts a message that wakes this thread's event loop,
 * which then sends everything due by its own clock.
 */
import { Worker } from 'node:worker_threads';
import { monoUs } from './latency-probe.js';
import type { RawResponse } from './raw-client.js';

export interface Connection { send(): Promise<RawResponse>; close(): void }

export interface OpenLoopRun {
  rate: number;
  scheduled: number;
  /** Answered with the expected status. */
  ok: number;
  errors: number;
  /** Still unanswered when the wait after the schedule ran out: counted as infinitely slow. */
  unfinished: number;
  /** From the first scheduled send to the last answer (or the end of the wait). */
  seconds: number;
  /** Per request, microseconds: answer - scheduled send (the latency), answer - actual send
   *  (service time, what a closed loop would report), actual send - scheduled send (lateness:
   *  this process's own, so NaN for a send that waited for a connection). */
  latencyUs: Float64Array;
  /** Each request's scheduled send, microseconds of monoUs's clock. */
  scheduledUs: Float64Array;
  serviceUs: Float64Array;
  lateUs: Float64Array;
  /** Per request, microseconds: scheduled send -> server's arrival, arrival -> response head,
   *  head -> answer read here (NaN where the server sent no x-bench-server header). */
  preUs: Float64Array;
  inServerUs: Float64Array;
  postUs: Float64Array;
  /** Connections in the pool, and sends that had to wait for one because none was idle. */
  connections: number;
  queued: number;
  maxInFlight: number;
}

/** The metronome: plain JavaScript, run as an eval'd worker (no loader needed in the thread). */
const METRONOME = `
const { parentPort, workerData } = require('node:worker_threads');
const { interval, total } = workerData;
const stop = new Int32Array(workerData.stop);
const go = new Int32Array(workerData.go);
const startAt = new Float64Array(workerData.start);
const sent = new Int32Array(workerData.sent);
const now = () => Number(process.hrtime.bigint() / 1000n);
const EARLY_US = 110;
while (Atomics.load(go, 0) === 0) Atomics.wait(go, 0, 0);
const start = startAt[0];
let i = 0;
while (i < total && Atomics.load(stop, 0) === 0) {
  const wait = start + i * interval - now();
  // A timed wait here wakes ~0.1 ms late (timer slack and the wake-up): sleep until
  // EARLY_US before the send is due and spin the rest, a few tens of microseconds a send.
  if (wait > EARLY_US) { Atomics.wait(stop, 0, 0, (wait - EARLY_US) / 1000); continue; }
  // Spin only while the main thread is keeping up: when it is still sending earlier requests it
  // will pick this one up by its own clock, and a spin would only take CPU from it.
  if (wait > 0) { if (Atomics.load(sent, 0) < i) Atomics.wait(stop, 0, 0, wait / 1000); continue; }
  const t = now();
  while (i < total && start + i * interval <= t) i++;
  parentPort.postMessage(i);
}
`;

/**
 * Sends `min(max, rate * seconds)` requests at `rate` per second over connections from `open`.
 * Waits at most `graceMs` after the last scheduled send for the answers still out.
 */
export async function runOpenLoop(options: {
  open: () => Promise<Connection>; rate: number; seconds: number; max: number; status: number;
  connections: number; graceMs?: number;
}): Promise<OpenLoopRun> {
  const { open, rate, status } = options;
  const total = Math.max(1, Math.min(options.max, Math.floor(rate * options.seconds)));
  // Opened 16 at a time (the server's accept queue), each warmed with one request before the schedule.
  const idle: Connection[] = [];
  while (idle.length < options.connections) {
    const batch = await Promise.all(Array.from({ length: Math.min(16, options.connections - idle.length) }, () => open()));
    await Promise.all(batch.map((c) => c.send().catch(() => null)));
    idle.push(...batch);
  }
  const all = new Set<Connection>(idle);
  const run: OpenLoopRun = {
    rate, scheduled: total, ok: 0, errors: 0, unfinished: 0, seconds: 0,
    latencyUs: new Float64Array(total).fill(Infinity), scheduledUs: new Float64Array(total), serviceUs: new Float64Array(total).fill(Infinity),
    lateUs: new Float64Array(total), preUs: new Float64Array(total).fill(NaN), inServerUs: new Float64Array(total).fill(NaN),
    postUs: new Float64Array(total).fill(NaN), connections: idle.length, queued: 0, maxInFlight: 0,
  };
  const interval = 1e6 / rate;
  // The metronome thread is started first: a worker takes tens of ms to come up.
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const go = new Int32Array(new SharedArrayBuffer(4));
  const startAt = new Float64Array(new SharedArrayBuffer(8));
  /** How many requests the main thread has sent (or queued): read by the metronome. */
  const sent = new Int32Array(new SharedArrayBuffer(4));
  const metronome = new Worker(METRONOME, { eval: true, workerData: { interval, total, stop: stop.buffer, go: go.buffer, start: startAt.buffer, sent: sent.buffer } });
  await new Promise((resolve) => metronome.once('online', resolve));
  const start = monoUs() + 1000;
  startAt[0] = start;
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  let inFlight = 0;
  let answered = 0;
  let lastAnswer = start;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => { finish = resolve; });

  const fire = (i: number, scheduledAt: number, conn: Connection, queued = false) => {
    const sentAt = monoUs();
    run.scheduledUs[i] = scheduledAt;
    // A send that waited for a connection is late because of the server, not of this process.
    run.lateUs[i] = queued ? NaN : sentAt - scheduledAt;
    inFlight++;
    run.maxInFlight = Math.max(run.maxInFlight, inFlight);
    conn.send().then((res) => {
      const end = monoUs();
      run.latencyUs[i] = end - scheduledAt;
      run.serviceUs[i] = end - sentAt;
      const [arrival, head] = String(res.benchServer ?? '').split(',').map(Number);
      if (arrival && head) { run.preUs[i] = arrival - scheduledAt; run.inServerUs[i] = head - arrival; run.postUs[i] = end - head; }
      if (res.status === status) run.ok++; else run.errors++;
      const waiting = backlog.shift();
      if (waiting !== undefined) fire(waiting, start + waiting * interval, conn, true);
      else idle.push(conn);
    }, () => {
      // A failed connection is dropped; the request counts as an error (and infinitely slow).
      run.errors++;
      all.delete(conn);
      conn.close();
    }).finally(() => {
      inFlight--;
      answered++;
      lastAnswer = monoUs();
      if (answered === total) finish();
    });
  };

  let next = 0;
  /** Sends due while every connection was busy, in schedule order. */
  const backlog: number[] = [];
  const tick = () => {
    const now = monoUs();
    while (next < total && start + next * interval <= now) {
      const i = next++;
      const scheduledAt = start + i * interval;
      // LIFO: the most recently used connections stay hot; the rest of the pool waits idle.
      const conn = idle.pop();
      if (conn) fire(i, scheduledAt, conn);
      else { run.queued++; backlog.push(i); }
    }
    Atomics.store(sent, 0, next);
  };
  metronome.on('message', tick);

  const graceMs = options.graceMs ?? 5000;
  const scheduleEnd = start + total * interval;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    // Bounded: answers still out this long after the last scheduled send are given up on.
    const check = () => {
      if (next >= total && monoUs() > scheduleEnd + graceMs * 1000) resolve();
      else timer = setTimeout(check, 100);
    };
    timer = setTimeout(check, 100);
  });
  await Promise.race([finished, timedOut]);
  clearTimeout(timer);
  Atomics.store(stop, 0, 1);
  Atomics.notify(stop, 0);
  await metronome.terminate();
  run.unfinished = total - answered;
  run.seconds = ((run.unfinished ? monoUs() : lastAnswer) - start) / 1e6;
  for (const c of all) c.close();
  return run;
}
