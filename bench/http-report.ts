/** bench/http.ts's closed-loop report: per operation, the bare baseline and each contender. */
import { medianResult, type Result, type Split, type Tail } from './http-closed.js';
import { opKey, type Settings, type Tally } from './http-session.js';
import { opName, type Contender } from './http-targets.js';
import { median, quartiles } from './stats.js';

/** Printed names of the servers. */
export function serverLabels(beforeDir: string | null): Record<Contender | 'bare', string> {
  // With --baseline full the "bare" processes serve the full stack with telemetry off.
  const baseline = process.env.BENCH_BASELINE === 'full' ? 'full, telemetry off' : 'bare Koa';
  const telemetry = process.env.BENCH_TELEMETRY && process.env.BENCH_TELEMETRY !== 'off' ? `, telemetry ${process.env.BENCH_TELEMETRY}` : '';
  return {
    bare: baseline, full: `full stack${telemetry}`, control: `${baseline} again (A/A control)`,
    'koa-ref': 'reference: Koa + better-sqlite3', 'fastify-ref': 'reference: Fastify + ajv + better-sqlite3',
    before: `full stack of ${beforeDir}`,
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

const row = (label: string, r: Result) =>
  `${label.padEnd(36)} ${r.rps.toFixed(0).padStart(6)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms   server CPU ${r.cpuUs.toFixed(0).padStart(5)} us/req   (${r.count} requests, ${r.errors} errors)`;

export function closedReport(settings: Settings, tally: Tally): void {
  const labels = serverLabels(settings.beforeDir);
  const { clients } = settings;
  for (const c of clients) for (const bareOp of settings.ops) {
    const op = opKey(settings, bareOp, c);
    if (clients.length > 1 && bareOp === settings.ops[0]) console.log(`load generator: ${c === 'raw' ? 'raw sockets (bench/raw-client.ts)' : 'node:http'}`);
    const name = opName(bareOp);
    const bare = medianResult(tally.runs[`${op}/bare`]!);
    console.log(row(`${name} ${labels.bare}`, bare));
    console.log(tailRow(bare.tail));
    for (const contender of settings.contenders) {
      const r = medianResult(tally.runs[`${op}/${contender}`]!);
      const ratios = tally.ratios[`${op}/${contender}`]!;
      const cpu = tally.cpuRatios[`${op}/${contender}`]!;
      console.log(row(`${name} ${labels[contender]}`, r));
      console.log(tailRow(r.tail));
      console.log(`${''.padEnd(36)} ${contender}/bare: throughput median ${median(ratios).toFixed(2)}x (middle half of ${ratios.length} rounds ${quartiles(ratios)}); `
        + `by server CPU per request ${median(cpu).toFixed(2)}x (${quartiles(cpu)}); p99 ${(r.p99 / bare.p99).toFixed(2)}x`);
      const sessions = tally.bySession[`${op}/${contender}`]!;
      if (sessions.length > 1) console.log(`${''.padEnd(36)} per session: ${sessions.map((xs) => `${median(xs).toFixed(2)}x`).join(', ')}`);
    }
    const vsBefore = tally.cpuRatios[`${op}/full-vs-before`];
    if (vsBefore) console.log(`${name} full stack / before: server CPU per request ${median(vsBefore).toFixed(2)}x (middle half ${quartiles(vsBefore)})`);
  }
}
