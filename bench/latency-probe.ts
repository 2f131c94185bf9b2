/**
 * Tail-latency probes for bench/http.ts: where a slow request's time goes.
 *
 * Server side (probeServer, used by bench/http-server.ts and bench/reference-servers.ts, never by
 * `serve`): each response carries `x-bench-server: <arrival>,<head>` in microseconds of the
 * monotonic clock (CLOCK_MONOTONIC, the same clock in every process on the machine, so the load
 * generator can line them up with its own send and receive times), and the control port answers,
 * per reading, a histogram of in-server request durations (the 'request' event to 'finish'), the
 * event loop's delay, and the GC pauses seen since the last reading.
 *
 * Client side (loopLag, runQueueWaitMs): the load generator's own event-loop delay, and how long a
 * process's main thread waited for a CPU while runnable (/proc/PID/schedstat): time in which the
 * process was not slow but was not running either.
 */
import fs from 'node:fs';
import type http from 'node:http';
import { PerformanceObserver, createHistogram, monitorEventLoopDelay, type IntervalHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Microseconds on the monotonic clock shared by all processes. */
export const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

export interface Spread { count: number; p50: number; p99: number; max: number }

export interface ProbeReading {
  user: number;
  system: number;
  /** In-server request durations, microseconds. */
  inServer: Spread;
  /** Event-loop delay, milliseconds (a 5 ms timer: how late it fired). */
  loop: Spread;
  gc: { minor: number; minorMs: number; major: number; majorMs: number; maxMs: number };
  /** Each GC pause since the last reading: [start, duration] in microseconds of monoUs's clock,
   *  so the load generator can tell which of its slow requests a pause overlapped. */
  gcPauses: [number, number][];
  /** Responses whose head was written after the event loop went round (a setImmediate queued at
   *  arrival had run): the request waited on a later turn, behind whatever else that turn did.
   *  In-server durations (us) of those and of the rest. */
  turns: { crossed: Spread; same: Spread };
}

const spread = (h: RecordableHistogram | IntervalHistogram, scale: number, offset = 0): Spread => ({
  count: h.count,
  p50: h.percentile(50) / scale - offset, p99: h.percentile(99) / scale - offset, max: h.max / scale - offset,
});

/** monitorEventLoopDelay records the whole interval between its timer's runs (nanoseconds): its
 *  lateness is that minus the resolution. */
const LOOP_RESOLUTION_MS = 5;
const lateness = (h: IntervalHistogram): Spread => spread(h, 1e6, LOOP_RESOLUTION_MS);

/**
 * Instruments `server`; the returned function reads and resets everything measured so far. Its
 * argument (the control request's URL) may switch the turn probe on or off for what follows
 * (`?turns=on|off`): it queues one setImmediate per request, so it stays off while the closed
 * loop measures CPU per request.
 */
export function probeServer(server: http.Server): (url?: string) => ProbeReading {
  const durations = createHistogram();
  const crossed = createHistogram();
  const same = createHistogram();
  let turnsOn = false;
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0, maxMs: 0 };
  let gcPauses: [number, number][] = [];
  // performance.now() and monoUs read the same monotonic clock from different origins.
  const origin = monoUs() - performance.now() * 1000;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (gcPauses.length < 100_000) gcPauses.push([Math.round(origin + e.startTime * 1000), Math.round(e.duration * 1000)]);
      // detail.kind: 1 scavenge (young generation); 2, 4, 8 the old generation's steps and collections.
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      if (kind === 1) { gc.minor++; gc.minorMs += e.duration; } else { gc.major++; gc.majorMs += e.duration; }
      gc.maxMs = Math.max(gc.maxMs, e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    const arrival = monoUs();
    let turned = false;
    let headTurned = false;
    const turn = turnsOn ? setImmediate(() => { turned = true; }) : undefined;
    const writeHead = res.writeHead;
    res.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
      if (!this.headersSent) this.setHeader('x-bench-server', `${arrival},${monoUs()}`);
      headTurned = turned;
      if (turn) clearImmediate(turn);
      return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    res.once('finish', () => {
      const us = Math.max(1, monoUs() - arrival);
      durations.record(us);
      if (turn) (headTurned ? crossed : same).record(us);
    });
  });
  return (url = '') => {
    if (url.includes('turns=on')) turnsOn = true;
    else if (url.includes('turns=off')) turnsOn = false;
    const reading: ProbeReading = {
      ...process.cpuUsage(), inServer: spread(durations, 1), loop: lateness(loop), gc: { ...gc }, gcPauses,
      turns: { crossed: spread(crossed, 1), same: spread(same, 1) },
    };
    gcPauses = [];
    durations.reset();
    crossed.reset();
    same.reset();
    loop.reset();
    Object.assign(gc, { minor: 0, minorMs: 0, major: 0, majorMs: 0, maxMs: 0 });
    return reading;
  };
}

/** The load generator's own event-loop delay over one scenario. */
export function loopLag(): { stop(): Spread } {
  const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  h.enable();
  return { stop() { h.disable(); return lateness(h); } };
}

/** Milliseconds the process's main thread has spent runnable but waiting for a CPU (null off Linux). */
export function runQueueWaitMs(pid: number): number | null {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return null;
  }
}
