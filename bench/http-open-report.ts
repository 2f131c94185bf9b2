/**
 * bench/http.ts's open-loop report: per operation and rate, one block per server, percentiles
 * pooled over the rounds, then a closing table of which servers kept p99 within 2x p50.
 */
import { serverLabels } from './http-report.js';
import { opKey, type OpenResult, type Settings, type Tally } from './http-session.js';
import { opName, type Name } from './http-targets.js';
import { median, quantile as q, quartiles } from './stats.js';

/**
 * The generator kept its schedule when its own sends (those that found a connection idle) went out
 * less than this late at p99: well under the ~0.1-0.3 ms p50 latencies measured here, so it
 * cannot make a p99/p50 ratio on its own.
 */
export const KEPT_LATE_P99_US = 100;

/** All rounds' values of one per-request figure, sorted (NaN, a request without it, left out). */
function pooled(runs: OpenResult[], pick: (r: OpenResult) => Float64Array): Float64Array {
  const parts = runs.map((r) => pick(r).filter((x) => !Number.isNaN(x)));
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return all.sort();
}
/** Microseconds as milliseconds; an unanswered request (Infinity) shows as such. */
const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(2) : 'inf');

/** Whether a GC pause of the server fell between request i's scheduled send and its answer. */
function overlapsPause(r: OpenResult, i: number): boolean {
  const from = r.run.scheduledUs[i]!;
  const to = from + r.run.latencyUs[i]!;
  return r.gcPauses.some(([start, duration]) => start < to && start + duration > from);
}

/** The lines of one server at one rate; returns its pooled p99/p50 and whether the schedule was kept. */
function serverBlock(label: string, runs: OpenResult[]): { ratio: number; kept: boolean } {
  const pad = ''.padEnd(46);
  const lat = pooled(runs, (r) => r.run.latencyUs);
  const service = pooled(runs, (r) => r.run.serviceUs);
  const late = pooled(runs, (r) => r.run.lateUs);
  const inServer = pooled(runs, (r) => r.run.inServerUs);
  const ratio = q(lat, 0.99) / q(lat, 0.5);
  const perRound = runs.map((r) => { const v = Float64Array.from(r.run.latencyUs).sort(); return q(v, 0.99) / q(v, 0.5); });
  // The slowest 1% by latency: mean time before the server took it (including a late send), in
  // the server, and after its response head. [latency, pre, in server, post, overlapped a GC pause (1/0)].
  const all = runs.flatMap((r) => Array.from(r.run.latencyUs, (l, i) => [l, r.run.preUs[i]!, r.run.inServerUs[i]!, r.run.postUs[i]!, overlapsPause(r, i) ? 1 : 0]))
    .filter((x) => Number.isFinite(x[0]!) && !Number.isNaN(x[1]!)).sort((a, b) => a[0]! - b[0]!);
  const slowest = all.slice(Math.floor(all.length * 0.99));
  const gcShare = (xs: number[][]) => `${(100 * xs.reduce((n, x) => n + x[4]!, 0) / Math.max(1, xs.length)).toFixed(0)}%`;
  const mean = (i: number) => slowest.reduce((n, x) => n + x[i]!, 0) / Math.max(1, slowest.length);
  const sum = (pick: (r: OpenResult) => number) => runs.reduce((n, r) => n + pick(r), 0);
  const m = (pick: (r: OpenResult) => number) => median(runs.map(pick));
  const kept = q(late, 0.99) < KEPT_LATE_P99_US;
  const g = (pick: (x: OpenResult['run']['generator']) => number) => sum((r) => pick(r.run.generator));
  console.log(`  ${label.padEnd(44)} ${m((r) => r.run.rate).toFixed(0).padStart(6)} req/s   p50 ${ms(q(lat, 0.5))}  p90 ${ms(q(lat, 0.9))}  `
    + `p99 ${ms(q(lat, 0.99))}  p99.9 ${ms(q(lat, 0.999))} ms   p99/p50 ${ratio.toFixed(2)}x (rounds ${quartiles(perRound)}) `
    + `${ratio <= 2 ? 'within 2x' : 'over 2x'}   (${sum((r) => r.run.scheduled)} requests, ${sum((r) => r.run.errors)} errors, ${sum((r) => r.run.unfinished)} unanswered)`);
  console.log(`${pad}from the actual send p50/p99 ${ms(q(service, 0.5))} / ${ms(q(service, 0.99))} ms; `
    + `in server p50/p99 ${ms(q(inServer, 0.5))} / ${ms(q(inServer, 0.99))} ms (${(q(inServer, 0.99) / q(inServer, 0.5)).toFixed(2)}x); `
    + `slowest 1% pre + in server + post ${ms(mean(1))} + ${ms(mean(2))} + ${ms(mean(3))} ms; `
    + `answered after a loop turn ${(100 * sum((r) => r.turns.crossed.count) / Math.max(1, sum((r) => r.turns.crossed.count + r.turns.same.count))).toFixed(0)}%, `
    + `in-server p99 ${ms(m((r) => r.turns.crossed.p99))} ms against ${ms(m((r) => r.turns.same.p99))} ms for the rest`);
  console.log(`${pad}generator's own sends late p50/p99/max ${(q(late, 0.5)).toFixed(0)} / ${q(late, 0.99).toFixed(0)} / ${q(late, 1).toFixed(0)} us `
    + `(${kept ? 'schedule kept' : `NOT kept: p99 over ${KEPT_LATE_P99_US} us`}); its stalls over 0.2 ms ${g((x) => x.stalls)} (${g((x) => x.stallMs).toFixed(1)} ms), `
    + `GC ${g((x) => x.gcs)} pauses (${g((x) => x.gcMs).toFixed(1)} ms), waited for a CPU ${m((r) => r.generatorWaitMsPerS).toFixed(1)} ms/s; `
    + `connections ${m((r) => r.run.connections)}, ${sum((r) => r.run.queued)} sends waited for one, max in flight ${Math.max(...runs.map((r) => r.run.maxInFlight))}`);
  console.log(`${pad}server: CPU ${m((r) => r.cpuUs).toFixed(0)} us/req, loop delay p99/max ${m((r) => r.serverLoopP99).toFixed(2)} / ${Math.max(...runs.map((r) => r.serverLoopMax)).toFixed(2)} ms, `
    + `GC ${(sum((r) => r.gc.minor) / sum((r) => r.run.seconds)).toFixed(1)} scavenges/s of ${(sum((r) => r.gc.minorMs) / Math.max(1, sum((r) => r.gc.minor))).toFixed(2)} ms, `
    + `${sum((r) => r.gc.major)} major steps, longest pause ${Math.max(...runs.map((r) => r.gc.maxMs)).toFixed(2)} ms, `
    + `a pause fell within ${gcShare(slowest)} of the slowest 1% and ${gcShare(all)} of all; waited for a CPU ${m((r) => r.serverWaitMsPerS).toFixed(0)} ms/s`);
  return { ratio, kept };
}

/** What the open-loop scenarios measured: per operation and rate, one block per server. */
export function openReport(settings: Settings, tally: Tally): void {
  const labels = serverLabels(settings.beforeDir);
  const names: Name[] = ['bare', ...settings.contenders];
  /** `op/name` -> per level, the pooled p99/p50: the summary at the end. */
  const verdicts: Record<string, string[]> = {};
  console.log('\nopen loop (wrk2-style, bench/load-generator.ts in a process of its own): each request has a scheduled send at a constant rate; '
    + `latency counts from it, so a stall charges every request scheduled behind it. ${settings.openRounds} round(s) of ${settings.seconds} s per scenario, percentiles pooled over the rounds.`);
  for (const c of settings.clients) for (const bareOp of settings.ops) for (const level of settings.levels) {
    const op = opKey(settings, bareOp, c);
    const rateText = level.rate ? `${level.rate} req/s` : `${level.fraction} of each server's own closed-loop throughput`;
    console.log(`${opName(bareOp)} at ${rateText}${settings.clients.length > 1 ? `, load generator ${c === 'raw' ? 'raw sockets' : 'node:http'}` : ''}:`);
    for (const name of names) {
      const runs = tally.open[`${op}/${level.label}/${name}`];
      if (!runs?.length) continue;
      const { ratio, kept } = serverBlock(labels[name], runs);
      // A verdict is only the server's when the generator kept its schedule.
      (verdicts[`${op}/${name}`] ??= []).push(`${level.label} ${ratio.toFixed(2)}x ${ratio <= 2 ? 'yes' : 'no'}${kept ? '' : ' (generator late)'}`);
    }
  }
  console.log('p99 within 2x p50 (open loop, pooled):');
  for (const [key, list] of Object.entries(verdicts)) {
    const [op, name] = key.split('/') as [string, Name];
    console.log(`  ${op.padEnd(12)} ${labels[name].padEnd(44)} ${list.join(';  ')}`);
  }
}
