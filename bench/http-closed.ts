/**
 * bench/http.ts's closed loop: `concurrency` connections, each sending its next request as soon as
 * the last one is answered, for `seconds` (or `max` requests). Measures throughput, latency,
 * server CPU per request (from the server's control port) and where the slowest requests' time went.
 */
import http from 'node:http';
import { connector, nodeSender, type Client } from './http-requests.js';
import { probe, requestSpec, type Op, type Target } from './http-targets.js';
import { loopLag, monoUs, runQueueWaitMs } from './latency-probe.js';
import type { RawResponse } from './raw-client.js';
import { median } from './stats.js';

export interface Result {
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
export interface Tail {
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

export interface Split { pre: number; inServer: number; post: number }

/** One closed-loop scenario: `op` against `target` through `client`. */
export async function closedLoad(target: Target, op: Op, client: Client, seconds: number, concurrency: number, max: number): Promise<Result> {
  const spec = requestSpec(target, op);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const open = connector(spec, 'raw');
  const raw = client === 'raw' ? await Promise.all(Array.from({ length: concurrency }, () => open())) : [];
  const senders: (() => Promise<RawResponse>)[] = Array.from({ length: concurrency }, (_, i) => raw[i]?.send ?? nodeSender(spec, agent));
  /** Per request, microseconds: [total, pre, inServer, post]. */
  const samples: [number, number, number, number][] = [];
  let errors = 0;
  let sent = 0;
  const one = async (send: () => Promise<RawResponse>) => {
    const t0 = monoUs();
    try {
      const res = await send();
      const t1 = monoUs();
      if (res.status !== spec.status) errors++;
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

/** Several rounds' results as one: counts summed, every other figure the median over the rounds
 *  (per-round p99/p50 ratios, not a ratio of medians). */
export function medianResult(rs: Result[]): Result {
  const m = (pick: (r: Result) => number) => median(rs.map(pick));
  const mt = (pick: (t: Tail) => number) => m((r) => pick(r.tail));
  const split = (pick: (t: Tail) => Split): Split => ({ pre: mt((t) => pick(t).pre), inServer: mt((t) => pick(t).inServer), post: mt((t) => pick(t).post) });
  return {
    count: rs.reduce((n, r) => n + r.count, 0), errors: rs.reduce((n, r) => n + r.errors, 0), seconds: rs.reduce((n, r) => n + r.seconds, 0),
    rps: m((r) => r.rps), p50: m((r) => r.p50), p99: m((r) => r.p99), cpuUs: m((r) => r.cpuUs),
    tail: {
      clientRatio: mt((t) => t.clientRatio), serverRatio: mt((t) => t.serverRatio), serverP50: mt((t) => t.serverP50), serverP99: mt((t) => t.serverP99),
      slow: split((t) => t.slow), typical: split((t) => t.typical),
      serverLoopP99: mt((t) => t.serverLoopP99), serverLoopMax: mt((t) => t.serverLoopMax), clientLoopP99: mt((t) => t.clientLoopP99), clientLoopMax: mt((t) => t.clientLoopMax),
      clientCpuUs: mt((t) => t.clientCpuUs), clientBusy: mt((t) => t.clientBusy),
      serverWaitMsPerS: mt((t) => t.serverWaitMsPerS), clientWaitMsPerS: mt((t) => t.clientWaitMsPerS),
      scavengesPerS: mt((t) => t.scavengesPerS), scavengeMs: mt((t) => t.scavengeMs), majorGcs: mt((t) => t.majorGcs), gcMaxMs: mt((t) => t.gcMaxMs),
    },
  };
}
