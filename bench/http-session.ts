/**
 * One session of bench/http.ts: fresh server processes, a warm-up, the closed-loop rounds
 * (bench/http-closed.ts), then the open-loop scenarios (bench/open-loop.ts), every round
 * interleaving the servers in a rotated order so none always runs first.
 */
import type { Client } from './http-requests.js';
import { closedLoad, type Result } from './http-closed.js';
import { probe, requestSpec, startTarget, stopTarget, type Contender, type Name, type Op, type Pinning, type Target } from './http-targets.js';
import { runQueueWaitMs, type ProbeReading } from './latency-probe.js';
import type { LoadGenerator, OpenLoopRun } from './open-loop.js';
import { median } from './stats.js';

/** An open-loop rate: a fraction of each server's own closed-loop throughput, or a fixed rate. */
export type Level = { label: string; fraction: number; rate?: undefined } | { label: string; rate: number; fraction?: undefined };

export interface Settings {
  seconds: number;
  concurrency: number;
  rounds: number;
  max: number;
  ops: Op[];
  contenders: Contender[];
  /** The load generators to run every scenario with (`--client`), interleaved in the same rounds. */
  clients: Client[];
  pinning: Pinning | null;
  /** `--before DIR`: the checkout the `before` contender serves. */
  beforeDir: string | null;
  /** Open-loop scenarios (`--load`, `--rate`), run after the closed-loop rounds of each session. */
  levels: Level[];
  openRounds: number;
  /** Connections opened before each open-loop schedule; 0: sized from the rate (poolSize). */
  openConnections: number;
}

/** One open-loop scenario's figures, pooled over rounds in the report. */
export interface OpenResult {
  run: OpenLoopRun;
  /** What the server saw meanwhile: event-loop delay (ms) and GC. */
  serverLoopP99: number;
  serverLoopMax: number;
  gc: ProbeReading['gc'];
  gcPauses: ProbeReading['gcPauses'];
  turns: ProbeReading['turns'];
  cpuUs: number;
  /** ms per second the server's / the load generator's main thread waited for a CPU. */
  serverWaitMsPerS: number;
  generatorWaitMsPerS: number;
}

/** Per-scenario results and per-round ratios (contender vs bare), keyed `op/name`. */
export interface Tally {
  runs: Record<string, Result[]>;
  ratios: Record<string, number[]>;
  cpuRatios: Record<string, number[]>;
  /** Throughput ratios per session (fresh processes), to tell a process-lifetime bias from noise. */
  bySession: Record<string, number[][]>;
  /** Open-loop scenarios keyed `op/level/name`. */
  open: Record<string, OpenResult[]>;
}

/** Results of the first client are keyed by the operation alone, the others' with their name. */
export const opKey = (settings: Settings, op: Op, c: Client): string => (c === settings.clients[0] ? op : `${op}@${c}`);

/** `--load` / `--rate`: requests at a constant rate, latency counted from each one's scheduled send. */
async function openLoad(generator: LoadGenerator, target: Target, op: Op, client: Client, rate: number, settings: Settings): Promise<OpenResult> {
  const before = await probe(target, 'on');
  const pids = [target.child.pid!, generator.pid];
  const waits0 = pids.map(runQueueWaitMs);
  const run = await generator.run(requestSpec(target, op), client, {
    rate, seconds: settings.seconds, max: settings.max, connections: poolSize(rate, settings.openConnections),
  });
  const waits1 = pids.map(runQueueWaitMs);
  const perS = (i: number) => (waits0[i] == null || waits1[i] == null ? NaN : (waits1[i]! - waits0[i]!) / run.seconds);
  const after = await probe(target);
  return {
    run, serverLoopP99: after.loop.p99, serverLoopMax: after.loop.max, gc: after.gc, gcPauses: after.gcPauses, turns: after.turns,
    // The probe's reading spans the warm-up requests too; they are few beside the schedule's.
    cpuUs: ((after.user + after.system) - (before.user + before.system)) / Math.max(1, run.scheduled),
    serverWaitMsPerS: perS(0), generatorWaitMsPerS: perS(1),
  };
}

/** Connections of an open-loop scenario: 50 ms of sends, so a stall that long still finds one idle
 *  for every send (the in-flight count is ~rate x latency, a few at these rates). */
const poolSize = (rate: number, fixed: number): number => (fixed > 0 ? fixed : Math.min(512, Math.max(16, Math.ceil(rate * 0.05))));

/** The servers in round `round`'s order: rotated each round, reversed every other one. */
function order(names: Name[], round: number): Name[] {
  const list = names.map((_, i) => names[(i + round) % names.length]!);
  return round % 2 ? list.reverse() : list;
}

/**
 * One session: fresh server processes, a warm-up, then interleaved rounds with the order rotated
 * every round. Fresh processes per session because two identical processes can differ by a few
 * percent for their whole life (JIT decisions, memory layout); sessions average that out.
 */
export async function runSession(settings: Settings, tally: Tally, session: number, generator: LoadGenerator | null): Promise<void> {
  const { seconds, concurrency, rounds, max, ops, contenders, levels, openRounds, clients } = settings;
  /** This session's closed-loop throughput per `op/name`: what `--load` fractions are taken of. */
  const closedRps: Record<string, number[]> = {};
  const names: Name[] = ['bare', ...contenders];
  const targets = {} as Record<Name, Target>;
  try {
    for (const name of names) targets[name] = await startTarget(name, settings.pinning, settings.beforeDir);
    for (const c of clients) for (const name of names) for (const op of ops) await closedLoad(targets[name], op, c, 1, concurrency, max);
    for (let round = 0; round < rounds; round++) {
      // Each round starts with the next client, so neither always runs first.
      const rotated = clients.map((_, j) => clients[(j + round) % clients.length]!);
      for (const c of rotated) for (const bareOp of ops) {
        const op = opKey(settings, bareOp, c);
        const got = {} as Record<Name, Result>;
        for (const name of order(names, round)) {
          got[name] = await closedLoad(targets[name], bareOp, c, seconds, concurrency, max);
          (tally.runs[`${op}/${name}`] ??= []).push(got[name]);
          (closedRps[`${op}/${name}`] ??= []).push(got[name].rps);
        }
        for (const name of contenders) {
          ((tally.bySession[`${op}/${name}`] ??= [])[session] ??= []).push(got[name].rps / got.bare.rps);
          (tally.ratios[`${op}/${name}`] ??= []).push(got[name].rps / got.bare.rps);
          (tally.cpuRatios[`${op}/${name}`] ??= []).push(got.bare.cpuUs / got[name].cpuUs);
        }
        // `--before`: this checkout's full stack against the other's, round by round.
        if (got.before) (tally.cpuRatios[`${op}/full-vs-before`] ??= []).push(got.full.cpuUs / got.before.cpuUs);
      }
    }
    // Open loop: each server at a fixed rate, in rounds interleaved and rotated like the closed ones.
    for (let round = 0; round < openRounds && levels.length && generator; round++) {
      const rotated = clients.map((_, j) => clients[(j + round) % clients.length]!);
      for (const c of rotated) for (const bareOp of ops) for (const level of levels) {
        const op = opKey(settings, bareOp, c);
        for (const name of order(names, round)) {
          const rate = level.rate ?? level.fraction * median(closedRps[`${op}/${name}`] ?? [NaN]);
          if (!(rate > 0)) throw new Error(`--load needs a closed-loop throughput for ${op}/${name}: run with --rounds 1 or more`);
          (tally.open[`${op}/${level.label}/${name}`] ??= []).push(await openLoad(generator, targets[name], bareOp, c, rate, settings));
        }
      }
    }
  } finally {
    for (const t of Object.values(targets)) await stopTarget(t);
  }
}
