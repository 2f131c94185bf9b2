/**
 * Open-loop load for bench/http.ts (`--load`, `--rate`), measured without coordinated omission,
 * the way wrk2 does it: request i has a scheduled send time, start + i / rate, fixed before the
 * run; its latency counts from that time, not from when it was really sent. A server that stalls
 * for 20 ms therefore delays, and is charged for, every request scheduled during the stall,
 * instead of the closed loop's one slow request followed by a pause in sending.
 *
 * The schedule is kept by bench/load-generator.ts, a process of its own that spins instead of
 * sleeping (see there); this module starts it, pins it and hands it one scenario at a time.
 *
 * Sends do not wait for a busy connection: each goes out on an idle one from a pool opened (and
 * warmed) before the schedule starts, sized by the caller for far more requests in flight than the
 * rate needs. Only when a stall has taken every connection does a send wait for the first one to
 * free (counted in `queued`; its latency still counts from its schedule). The pool never grows
 * during a run: a burst of new connections to a stalled server overflows its accept queue, and
 * the kernel retries a dropped SYN only after a second, which would bench the TCP stack instead.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Client, RequestSpec } from './http-requests.js';

export interface OpenLoopOptions {
  rate: number;
  seconds: number;
  /** At most this many requests (the schedule is cut short). */
  max: number;
  /** Connections opened and warmed before the schedule. */
  connections: number;
  /** How long to wait after the last scheduled send for the answers still out (default 5000). */
  graceMs?: number;
}

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
   *  the generator's own, so NaN for a send that waited for a connection). */
  latencyUs: Float64Array;
  /** Each request's scheduled send, microseconds of the monotonic clock (monoUs). */
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
  /** The generator process during the schedule: its GC pauses, share of a core, loop turns, and
   *  gaps between two turns over 0.2 ms (stalls: it was not running, or was running something long). */
  generator: { gcs: number; gcMaxMs: number; gcMs: number; busy: number; turns: number; stalls: number; stallMs: number; longestStallMs: number };
}

type Reply = { type: 'ready' } | { type: 'done'; run: OpenLoopRun } | { type: 'failed'; error: string };

/**
 * The generator's V8 flags: a young generation big enough that its tens of MB of garbage per
 * second (mostly the spin's setImmediate objects) are collected about once a second, and a gc()
 * to call before each schedule. BENCH_GENERATOR_FLAGS replaces them.
 */
const GENERATOR_FLAGS = process.env.BENCH_GENERATOR_FLAGS !== undefined ? process.env.BENCH_GENERATOR_FLAGS.split(' ').filter(Boolean)
  : ['--max-semi-space-size=64', '--min-semi-space-size=64', '--expose-gc'];

export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  get pid(): number { return this.child.pid!; }

  /** Starts the generator process, pinned to `cores` (a taskset list) when given. */
  static async start(cores: string | null): Promise<LoadGenerator> {
    const child = fork(fileURLToPath(new URL('./load-generator.ts', import.meta.url)), [], {
      // The parent's own flags carry tsx's loader (this bench runs under tsx).
      execArgv: [...process.execArgv, ...GENERATOR_FLAGS], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', (m: Reply) => (m.type === 'ready' ? resolve() : reject(new Error(`load generator: ${JSON.stringify(m)}`))));
      child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
    });
    // -a: all its threads; threads it starts later inherit the mask.
    if (cores && spawnSync('taskset', ['-a', '-cp', cores, String(child.pid)]).status !== 0) throw new Error('taskset failed for the load generator');
    // No higher priority: a spinning process above nice 0 starves ksoftirqd on its core, which
    // then delivers loopback packets late (answers seconds late were seen with nice -19).
    return new LoadGenerator(child);
  }

  /**
   * Runs one schedule of `spec` at `options.rate` and returns what it measured. Fails, instead of
   * waiting for ever, when the generator is gone or has not answered well after the schedule's end
   * (opening and warming the pool included).
   */
  run(spec: RequestSpec, client: Client, options: OpenLoopOptions): Promise<OpenLoopRun> {
    if (!this.child.connected) return Promise.reject(new Error('the load generator is gone'));
    const limitMs = options.seconds * 1000 + (options.graceMs ?? 5000) + 60_000;
    return new Promise((resolve, reject) => {
      const done = (err: Error | null, run?: OpenLoopRun) => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        this.child.off('message', onMessage);
        if (err) reject(err); else resolve(run!);
      };
      const onExit = (code: number | null) => done(new Error(`load generator exited with ${code}`));
      const onMessage = (m: Reply) => done(m.type === 'done' ? null : new Error(`load generator: ${m.type === 'failed' ? m.error : m.type}`), m.type === 'done' ? m.run : undefined);
      const timer = setTimeout(() => done(new Error(`load generator: no answer after ${limitMs / 1000} s`)), limitMs);
      this.child.once('exit', onExit);
      this.child.once('message', onMessage);
      this.child.send({ type: 'run', spec, client, options }, (err) => { if (err) done(err); });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    if (this.child.connected) this.child.disconnect(); else this.child.kill();
    // A generator stuck in a spin is killed after a while rather than waited for.
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  }
}
