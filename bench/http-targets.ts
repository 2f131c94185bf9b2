/**
 * The servers bench/http.ts measures: each in a child process (bench/http-server.ts for the full
 * stack and the bare baseline, bench/reference-servers.ts for Koa and Fastify), pinned to the last
 * core, with the V8 flags below; plus the control port each one answers its probes on.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CREATE_BODY, type Mode } from './http-server.js';
import type { RequestSpec } from './http-requests.js';
import type { ProbeReading } from './latency-probe.js';

export type Op = 'get' | 'create';

/** What is measured against the bare baseline: the full stack, optionally a second bare server,
 *  the reference servers (bench/reference-servers.ts), and another checkout's full stack. */
export type Contender = 'full' | 'control' | 'koa-ref' | 'fastify-ref' | 'before';
export type Name = Contender | 'bare';

export interface Target {
  child: ChildProcess;
  port: number;
  controlPort: number;
  key: string;
  workflowId: string;
}

/** Which cores the servers and the load run on (`--pin on`), or null. */
export interface Pinning { server: string; load: string }

/**
 * V8 flags for the servers. A fixed young generation: V8 otherwise sizes it per process as it
 * goes, and two identical servers then settle at different sizes and differ by 10-15% for
 * their whole life. BENCH_NODE_FLAGS replaces them (empty: none).
 */
export const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '--min-semi-space-size=16 --max-semi-space-size=16').split(' ').filter(Boolean);
/**
 * BENCH_BEFORE_NODE_FLAGS: other V8 flags for the `--before` server alone, so one checkout's full
 * stack under two heap settings meets in one run (`--before .` with the flags to compare).
 */
export const beforeFlags = process.env.BENCH_BEFORE_NODE_FLAGS === undefined ? nodeFlags : process.env.BENCH_BEFORE_NODE_FLAGS.split(' ').filter(Boolean);

/**
 * With --pin on (the default where `taskset` exists and there are 2+ cores), every server runs on
 * the last core and this process and the load generators on the others, so the two do not take
 * turns on one core: without it, identical servers measured back to back differ by up to 25% per
 * round here.
 */
export function pinCores(): Pinning | null {
  const cores = os.availableParallelism();
  if (cores < 2 || spawnSync('taskset', ['-V']).status !== 0) return null;
  const plan = { server: String(cores - 1), load: cores === 2 ? '0' : `0-${cores - 2}` };
  // -a: every thread of this process (libuv and V8 threads as well as the main one).
  if (spawnSync('taskset', ['-a', '-cp', plan.load, String(process.pid)]).status !== 0) return null;
  return plan;
}

const MODES: Record<Name, Mode | 'koa' | 'fastify'> = { bare: 'bare', control: 'bare', full: 'full', 'koa-ref': 'koa', 'fastify-ref': 'fastify', before: 'full' };

/** Starts server `name` and waits for its `{ port, controlPort, key, workflowId }` line. */
export async function startTarget(name: Name, pinning: Pinning | null, beforeDir: string | null): Promise<Target> {
  const mode = MODES[name];
  const reference = mode === 'koa' || mode === 'fastify';
  const server = fileURLToPath(new URL(reference ? './reference-servers.ts' : './http-server.ts', import.meta.url));
  const command = [process.execPath, ...(name === 'before' ? beforeFlags : nodeFlags), '--import', 'tsx', server, mode, name];
  if (pinning) command.unshift('taskset', '-c', pinning.server);
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'inherit'],
    // The before server also takes DIR's tsconfig, whose paths point `@lavendly/framework` at DIR's
    // own packages/framework: with this checkout's, DIR's code would run on this runtime.
    env: { ...process.env, LOG_LEVEL: 'info', ...(name === 'before' && beforeDir ? beforeEnv(beforeDir) : {}) },
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

/** What a `--before DIR` server needs to load DIR's code, framework included, instead of this checkout's. */
function beforeEnv(beforeDir: string): Record<string, string> {
  return { BENCH_SRC_ROOT: beforeDir, TSX_TSCONFIG_PATH: path.join(path.resolve(beforeDir), 'tsconfig.json') };
}

/** Stops a server; SIGINT lets a profiled child write its profile first (BENCH_PROFILE). */
export async function stopTarget(target: Target): Promise<void> {
  if (target.child.exitCode !== null || target.child.signalCode !== null) return;
  const exited = new Promise((resolve) => target.child.once('exit', resolve));
  target.child.kill('SIGINT');
  // One that does not exit (a stalled event loop never runs its handler) is killed.
  const kill = setTimeout(() => target.child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(kill);
}

/** Reads (and resets) the server's probes; `turns` switches its turn probe for what follows. */
export async function probe(target: Target, turns: 'on' | 'off' = 'off'): Promise<ProbeReading> {
  // Bounded: a server whose loop stopped must fail the bench, not hang it.
  const res = await fetch(`http://127.0.0.1:${target.controlPort}/?turns=${turns}`, { signal: AbortSignal.timeout(60_000) });
  return (await res.json()) as ProbeReading;
}

/** The request an operation sends to a target. */
export function requestSpec(target: Target, op: Op): RequestSpec {
  const authorization = `Bearer ${target.key}`;
  return op === 'get'
    ? { port: target.port, method: 'GET', path: `/v1/workflows/${target.workflowId}`, headers: { authorization }, status: 200 }
    : {
      port: target.port, method: 'POST', path: '/v1/workflows', status: 201, body: CREATE_BODY,
      headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(CREATE_BODY) },
    };
}

export const opName = (op: Op): string => (op === 'get' ? 'get_workflow' : 'create_workflow');
