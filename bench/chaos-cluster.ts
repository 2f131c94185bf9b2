/**
 * The chaos bench's deployment (bench/chaos.ts): PostgreSQL, s3rver as a process of its own (so it
 * can be stopped with SIGSTOP or killed and restarted on its directory), several `lavendly serve`
 * (no built-in worker) and several `lavendly worker` processes, each with a data dir of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error plain ESM helper without types
import { startPostgres } from '../scripts/pg.mjs';
import { spawnCli, type CliProcess } from '../test/publish-http/processes.js';

export const BUCKET = 'lavendly';
const SECRET = 'chaos-bench-signing-secret-0123456789';

export interface Node {
  name: string;
  kind: 'serve' | 'worker';
  port: number | null;
  proc: CliProcess | null;
  dataDir: string;
  /** Every time this node was killed or stopped: [ms since epoch, how]. */
  downs: Array<[number, string]>;
  starts: number;
  /** Listening (serve) or polling (worker) now. */
  up: boolean;
}

export class Cluster {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-chaos-'));
  readonly s3Dir = path.join(this.root, 's3');
  pg!: { url: string; pause(): void; resume(): void; stop(): void };
  s3: ChildProcess | null = null;
  s3Paused = false;
  pgPaused = false;
  readonly nodes: Node[] = [];
  readonly events: string[] = [];
  /** Error-level log lines of the processes already stopped. */
  private readonly pastErrors: string[] = [];
  private t0 = Date.now();

  constructor(
    readonly ports: { pg: number; s3: number; serve: number[] }, readonly workers: number, readonly extraEnv: Record<string, string>,
    /** A compiled `dist/src/cli/main.js` to run instead of the sources through tsx. */
    readonly entry?: string,
  ) {}

  log(line: string): void {
    const entry = `${((Date.now() - this.t0) / 1000).toFixed(1).padStart(6)}s ${line}`;
    this.events.push(entry);
    if (process.env.CHAOS_VERBOSE) console.log(entry);
  }

  get s3Endpoint(): string { return `http://127.0.0.1:${this.ports.s3}`; }

  env(node: Node): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: this.pg.url,
      LAVENDLY_DATA_DIR: node.dataDir,
      LAVENDLY_STORAGE_URL: `s3://${BUCKET}?endpoint=${encodeURIComponent(this.s3Endpoint)}&region=us-east-1`,
      AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LAVENDLY_SIGNING_SECRET: SECRET,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      LAVENDLY_LOG_FORMAT: 'json',
      LAVENDLY_SERVE_WORKER: '0',
      ...this.extraEnv,
    };
    if (node.port) env.LAVENDLY_PUBLIC_URL = `http://127.0.0.1:${node.port}`;
    delete env.LAVENDLY_API_KEY;
    return env;
  }

  async startDependencies(): Promise<void> {
    const pg = startPostgres(this.ports.pg);
    if (!pg) throw new Error('no PostgreSQL binaries');
    this.pg = pg;
    fs.mkdirSync(this.s3Dir);
    await this.startS3();
  }

  async startS3(): Promise<void> {
    const bin = path.resolve(import.meta.dirname, '../node_modules/.bin/s3rver');
    const child = spawn(bin, ['-d', this.s3Dir, '-a', '127.0.0.1', '-p', String(this.ports.s3), '--silent', '--configure-bucket', BUCKET], { stdio: 'ignore' });
    this.s3 = child;
    this.s3Paused = false;
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(this.s3Endpoint, { signal: AbortSignal.timeout(500) });
        return;
      } catch { await sleep(100); }
    }
    throw new Error('s3rver did not start');
  }

  addNodes(): void {
    this.ports.serve.forEach((port, i) => this.nodes.push({ name: `serve-${i + 1}`, kind: 'serve', port, proc: null, dataDir: fs.mkdtempSync(path.join(this.root, 'serve-')), downs: [], starts: 0, up: false }));
    for (let i = 0; i < this.workers; i++) this.nodes.push({ name: `worker-${i + 1}`, kind: 'worker', port: null, proc: null, dataDir: fs.mkdtempSync(path.join(this.root, 'worker-')), downs: [], starts: 0, up: false });
  }

  /** Starts `node` and waits until it listens (serve) or polls (worker); retries while PG is paused. */
  async start(node: Node): Promise<void> {
    for (let tries = 0; ; tries++) {
      const args = node.kind === 'serve' ? ['serve', '--port', String(node.port)] : ['worker'];
      const proc = spawnCli(args, this.env(node), this.entry);
      node.proc = proc;
      try {
        await proc.waitFor(node.kind === 'serve' ? /listening on http/ : /Lavendly worker \S+ running/, 90_000);
        node.starts++;
        node.up = true;
        this.log(`${node.name} up (pid ${proc.child.pid})`);
        return;
      } catch (err) {
        await proc.kill9();
        if (tries >= 5) throw err;
        this.log(`${node.name} failed to start (${String(err).split('\n').find((l) => l.includes('lavendly: error')) ?? 'exited'}), again`);
        await sleep(1000);
      }
    }
  }

  async kill(node: Node, signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const proc = node.proc;
    if (!proc) return;
    node.downs.push([Date.now(), signal]);
    node.up = false;
    this.log(`${signal} ${node.name} (pid ${proc.child.pid})`);
    await (signal === 'SIGKILL' ? proc.kill9() : proc.stop());
    // The end of a SIGTERM's drain: requests cut after this are the grace period's doing.
    node.downs.push([Date.now(), `${signal} exited`]);
    node.proc = null;
    this.pastErrors.push(...errorsOf(node.name, proc));
  }

  pausePg(): void { this.log('PostgreSQL stop (pause)'); this.pgPaused = true; this.pg.pause(); }
  resumePg(): void { this.pg.resume(); this.pgPaused = false; this.log('PostgreSQL back'); }
  pauseS3(): void { this.log('s3rver SIGSTOP'); this.s3?.kill('SIGSTOP'); this.s3Paused = true; }
  resumeS3(): void { this.s3?.kill('SIGCONT'); this.s3Paused = false; this.log('s3rver SIGCONT'); }
  async restartS3(): Promise<void> {
    this.log('s3rver SIGKILL');
    const old = this.s3!;
    const gone = new Promise((r) => old.once('exit', r));
    old.kill('SIGKILL');
    await gone;
    await sleep(500 + Math.random() * 1500);
    await this.startS3();
    this.log('s3rver restarted');
  }

  /** Everything the processes logged at error level or above, per node (the last run of each). */
  errorLines(): string[] {
    return [...this.pastErrors, ...this.nodes.flatMap((n) => (n.proc ? errorsOf(n.name, n.proc) : []))];
  }

  async stopAll(): Promise<void> {
    if (this.s3Paused) this.resumeS3();
    await Promise.all(this.nodes.map((n) => n.proc?.kill9()));
    this.s3?.kill('SIGKILL');
    this.pg?.stop();
    if (!process.env.CHAOS_KEEP) fs.rmSync(this.root, { recursive: true, force: true });
  }
}

function errorsOf(name: string, proc: CliProcess): string[] {
  return proc.output().split('\n').filter((l) => /"level":(50|60)/.test(l) || l.includes('lavendly: error')).map((l) => `${name}: ${l.slice(0, 600)}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
