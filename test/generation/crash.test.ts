/**
 * A worker killed with SIGKILL in the middle of a scene (its still drawn, its clip not yet made),
 * on every database: the real `lavendly worker` command runs in a child process on the test's
 * database, is killed, and another one is started. The scene then either completes and is charged
 * once (attempts left), or fails and its share is released (no attempts left); never twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from '../../src/jobs/index.js';
import { assertInvariants } from '../../src/ledger/index.js';
import { testDatabases } from '../helpers/db.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, ledger, startWorker, useGeneration, waitForGeneration } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LATENCY_MS = 2500;

interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | string>;
}

/** `lavendly worker` on the test server's database. */
function lavendlyWorker(s: TestServer, env: Record<string, string>): Child {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LAVENDLY_') && k !== 'DATABASE_URL') base[k] = v;
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
  let err = '';
  proc.stderr!.on('data', (d) => { err += String(d); });
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += String(d);
      if (/Lavendly worker \S+ running/.test(out)) resolve();
    });
    void exited.then((c) => reject(new Error(`worker exited (${c}) before it was ready:\n${out}\n${err}`)));
  });
  ready.catch(() => {});
  return { proc, ready, exited };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

describe.each(testDatabases())('a worker killed mid-scene on %s', (kind) => {
  let s: TestServer;
  const children: Child[] = [];
  let inProcess: Worker | null = null;

  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
      await c.exited;
    }
    await inProcess?.stop({ abortAfterMs: 5_000 });
    inProcess = null;
    await assertInvariants(s.fresh.db);
  });
  afterAll(async () => {
    await s.close();
  });

  /**
   * Starts a two-scene generation, lets a slow worker take scene 1, starts a second (normal)
   * worker, and kills the first once scene 1's still is drawn and its clip is not. (The second
   * worker starts before the kill only because a worker process takes seconds to boot; it cannot
   * touch scene 1 while the first worker holds its lease.)
   */
  async function generateAndKill(acc: { key: string }) {
    const wf = await createFox(s, acc.key, [{ prompt: 'The fox reads', duration_s: 1 }, { prompt: 'The fox naps', duration_s: 1 }]);
    const started = await generate(s, acc.key, wf.id, {});
    expect(started.status, started.text).toBe(202);
    const first = lavendlyWorker(s, { LAVENDLY_PROVIDER_LATENCY_MS: String(LATENCY_MS) });
    children.push(first);
    await first.ready;
    const claimed = await until('scene 1 to be claimed', async () => {
      const row = await s.fresh.db('generation_scenes').where({ generation_id: started.json.id, position: 0 }).first();
      const job = await s.fresh.db('jobs').where({ id: row.job_id }).first();
      return job.status === 'running' ? job : null;
    });
    const second = lavendlyWorker(s, {});
    children.push(second);
    const mid = await until('scene 1 to be half done', async () => {
      const row = await s.fresh.db('generation_scenes').where({ generation_id: started.json.id, position: 0 }).first();
      return row?.step === 'video' ? row : null;
    });
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const job = await s.fresh.db('jobs').where({ id: mid.job_id }).first();
    expect(job).toMatchObject({ status: 'running', attempts: 1 });
    const held = await s.fresh.db('reservations').where({ id: mid.reservation_id }).first();
    expect(held.status).toBe('open');
    expect(job.lease_owner).toBe(claimed.lease_owner);
    await second.ready;
    return { wf, generationId: started.json.id as string, mid };
  }

  it('with attempts left, the next worker finishes the scene and charges it once', async () => {
    useGeneration(s);
    const acc = await s.account({ credits: 100 });
    const { wf, generationId, mid } = await generateAndKill(acc);
    const st = await waitForGeneration(s, acc.key, wf.id);
    expect(st.status, JSON.stringify(st)).toBe('succeeded');
    expect(st.scenes.map((x: any) => x.credits_charged)).toEqual([10, 10]);

    const row = await s.fresh.db('generation_scenes').where({ generation_id: generationId, position: 0 }).first();
    expect(row.image_key).toBe(mid.image_key); // the still from before the crash was reused
    const job = await s.fresh.db('jobs').where({ id: mid.job_id }).first();
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(job.last_error).toBeNull();
    const entries = await s.fresh.db('ledger_entries').where({ reservation_id: mid.reservation_id }).orderBy('seq').pluck('kind');
    expect(entries).toEqual(['reserve', 'commit']);
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 80, reserved: 0, available: 80 });
  });

  it('with no attempts left, the scene fails, its share is released, and the status says why', async () => {
    useGeneration(s, { LAVENDLY_GENERATION_MAX_ATTEMPTS: '1' });
    const acc = await s.account({ credits: 100 });
    const { wf, mid } = await generateAndKill(acc);
    const st = await waitForGeneration(s, acc.key, wf.id);
    expect(st.status).toBe('failed');
    expect(st.scenes.map((x: any) => x.status)).toEqual(['failed', 'generated']);
    expect(st.scenes.map((x: any) => x.credits_charged)).toEqual([0, 10]);
    expect(st.scenes[0].error.code).toBe('worker_lost');
    expect(st.phase).toMatch(/scene 1 of 2 \(the fox reads\) failed and was not charged: The worker generating this scene stopped responding/);
    const entries = await s.fresh.db('ledger_entries').where({ reservation_id: mid.reservation_id }).orderBy('seq').pluck('kind');
    expect(entries).toEqual(['reserve', 'release']);
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 90, reserved: 0, available: 90 });
  });

  it('a worker that died after landing a scene but before recording it: the re-run charges nothing', async () => {
    const g = useGeneration(s);
    const acc = await s.account({ credits: 100 });
    const wf = await createFox(s, acc.key, [{ prompt: 'The fox yawns', duration_s: 1 }]);
    const started = await generate(s, acc.key, wf.id, {});
    inProcess = startWorker(s, g);
    expect((await waitForGeneration(s, acc.key, wf.id)).status).toBe('succeeded');
    await inProcess.stop();
    const row = await s.fresh.db('generation_scenes').where({ generation_id: started.json.id }).first();
    // Put the job back as its dead worker would have left it: running, lease long expired.
    await s.fresh.db('jobs').where({ id: row.job_id })
      .update({ status: 'running', lease_owner: 'dead-worker', lease_expires_at: '2000-01-01T00:00:00.000Z', finished_at: null, result: null });
    inProcess = startWorker(s, g);
    const job = await until('the job to run again', async () => {
      const j = await s.fresh.db('jobs').where({ id: row.job_id }).first();
      return j.status === 'succeeded' ? j : null;
    });
    expect(job.attempts).toBe(2);
    expect(JSON.parse(job.result)).toEqual({ skipped: 'generated' });
    expect(await s.fresh.db('ledger_entries').where({ reservation_id: row.reservation_id }).orderBy('seq').pluck('kind')).toEqual(['reserve', 'commit']);
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 90, reserved: 0 });
  });
});
