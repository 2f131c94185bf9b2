// `lavendly serve` and `lavendly worker` as real child processes, with their output kept so a test
// can read the listening address and grep every log line.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'src/cli/main.ts');

export interface CliProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** The JSON (pino) lines of the output. */
  logLines(): string[];
  /** Resolves with the first match of `pattern` in the output (rejects if the process exits first). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | string>;
  /** SIGTERM and wait (graceful shutdown). */
  stop(): Promise<number | string>;
  /** SIGKILL and wait: nothing gets to clean up. */
  kill9(): Promise<number | string>;
}

/**
 * Runs `node --import tsx src/cli/main.ts <args>` (the same as `npx tsx`, minus the npx wrapper
 * process), or a compiled `dist/src/cli/main.js` given as `entry` (starts in a fraction of the time).
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, entry?: string): CliProcess {
  const argv = entry ? [entry, ...args] : ['--import', 'tsx', cli, ...args];
  const child = spawn(process.execPath, argv, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += String(d);
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const l of listeners) l();
  });
  const signal = (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    return exited;
  };
  return {
    child,
    output: () => out,
    logLines: () => out.split('\n').filter((l) => l.startsWith('{')),
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) finish(() => resolve(m));
          else if (done) finish(() => reject(new Error(`lavendly ${args.join(' ')} exited before printing ${pattern}:\n${out.slice(-3000)}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${out.slice(-3000)}`))), timeoutMs);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
    exited,
    stop: () => signal('SIGTERM'),
    kill9: () => signal('SIGKILL'),
  };
}

/** Starts `lavendly serve --port 0` and waits until it listens. */
export async function startServeProcess(env: NodeJS.ProcessEnv): Promise<CliProcess & { origin: string }> {
  const proc = spawnCli(['serve', '--port', '0'], env);
  const m = await proc.waitFor(/listening on (http:\/\/[^\s]+)/);
  return Object.assign(proc, { origin: m[1]! });
}

/** The environment of a child on the same database and data dir as `fresh`, logging at info. */
export function childEnv(fresh: { dataDir: string; databaseUrl: string | null }, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LAVENDLY_DATA_DIR: fresh.dataDir,
    DATABASE_URL: fresh.databaseUrl ?? '',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    LAVENDLY_WORKER_POLL_MS: '50',
    ...extra,
  };
  delete env.LAVENDLY_API_KEY;
  return env;
}
