/** Helpers for the provider tests: a real `lavendly worker` process, and waiting on a condition. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestServer } from '../helpers/server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | string>;
  output(): string;
}

/** `lavendly worker` on the test server's database, with the given provider environment. */
export function lavendlyWorker(s: TestServer, env: Record<string, string>): Child {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('LAVENDLY_') && !k.startsWith('OPENAI_') && !k.startsWith('RUNWAYML_') && !k.startsWith('FAL_') && k !== 'DATABASE_URL') base[k] = v;
  }
  const proc = spawn(process.execPath, [path.join(root, 'bin/lavendly.mjs'), 'worker'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...base,
      DATABASE_URL: s.fresh.databaseUrl ?? '',
      LAVENDLY_DATA_DIR: s.fresh.dataDir,
      LAVENDLY_SIGNING_SECRET: 'test-signing-secret',
      LAVENDLY_CLIP_SHORT_SIDE: '180',
      LAVENDLY_WORKER_CONCURRENCY: '1',
      LAVENDLY_WORKER_LEASE_MS: '1500',
      LAVENDLY_WORKER_POLL_MS: '50',
      ...env,
    },
  });
  let out = '';
  proc.stdout!.on('data', (d) => { out += String(d); });
  proc.stderr!.on('data', (d) => { out += String(d); });
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => { if (/Lavendly worker \S+ running/.test(out)) resolve(); };
    proc.stdout!.on('data', check);
    void exited.then((c) => reject(new Error(`worker exited (${c}) before it was ready:\n${out}`)));
  });
  ready.catch(() => {});
  return { proc, ready, exited, output: () => out };
}

export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
