// Graceful shutdown (issue 13): SIGTERM to a `lavendly worker` with a job in flight either lets
// the job finish (within LAVENDLY_SHUTDOWN_GRACE_MS) or aborts it and hands it back to the queue
// at once, so another worker takes it over without waiting for the lease (60 s here) to expire.
// The job is a real generation on a hosted video model whose fake provider holds the clip.
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, useGeneration, waitForGeneration } from '../generation/helpers.js';
import { lavendlyWorker, until, type Child } from '../providers/helpers.js';
import { OPENAI_KEY, startFakeOpenAI, type FakeOpenAI } from '../providers/fakes/openai.js';
import { startServeProcess, type CliProcess } from '../publish-http/processes.js';

describe.each(testDatabases())('SIGTERM to a worker with a job in flight (%s)', (kind) => {
  let s: TestServer;
  let fake: FakeOpenAI | null = null;
  const children: Child[] = [];
  beforeAll(async () => { s = await startTestServer(kind); });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await fake?.close();
    fake = null;
  });
  afterAll(async () => { await s.close(); });

  async function inFlight(grace: string) {
    fake = await startFakeOpenAI({ polls: 1, hold: true });
    const env = {
      LAVENDLY_VIDEO_MODEL: 'openai:sora-2', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl,
      LAVENDLY_PROVIDER_POLL_MS: '20', LAVENDLY_PROVIDER_BACKOFF_MS: '10',
      LAVENDLY_WORKER_LEASE_MS: '60000', LAVENDLY_SHUTDOWN_GRACE_MS: grace,
    };
    useGeneration(s, env);
    const acc = await s.account({ credits: 100 });
    const wf = await createFox(s, acc.key, [{ prompt: 'The fox reads', duration_s: 3 }]);
    const started = await generate(s, acc.key, wf.id, {});
    expect(started.status).toBe(202);
    const worker = lavendlyWorker(s, env);
    children.push(worker);
    await worker.ready;
    const scene = await until('the clip to be submitted', async () => {
      const r = await s.fresh.db('generation_scenes').where({ generation_id: started.json.id }).first();
      return r?.provider_task ? r : null;
    });
    return { env, acc, wf, worker, jobId: scene.job_id as string };
  }

  it('hands the job back at once when the grace period runs out; the next worker resumes it', async () => {
    const { env, acc, wf, worker, jobId } = await inFlight('300');
    worker.proc.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const job = await s.fresh.db('jobs').where({ id: jobId }).first();
    // Back on the queue, due now, unowned, and the interrupted run did not use up an attempt.
    expect(job).toMatchObject({ status: 'queued', lease_owner: null, attempts: 0 });
    expect(Date.parse(job.run_at)).toBeLessThanOrEqual(Date.now());
    expect(worker.output()).toMatch(/shutting down/);
    expect(worker.output()).toMatch(/worker stopped/);

    const handedOverAt = Date.now();
    const second = lavendlyWorker(s, env);
    children.push(second);
    await second.ready;
    await until('the second worker to take the job', async () => (await s.fresh.db('jobs').where({ id: jobId }).first()).status === 'running');
    expect(Date.now() - handedOverAt).toBeLessThan(30_000); // far inside the 60 s lease it would otherwise wait out
    fake!.release();
    const st = await waitForGeneration(s, acc.key, wf.id);
    expect(st.status, JSON.stringify(st)).toBe('succeeded');
    expect(fake!.accepted).toHaveLength(1); // the same remote task, resumed: one submission
    second.proc.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('lets the job finish when it ends inside the grace period', async () => {
    const { acc, wf, worker, jobId } = await inFlight('30000');
    worker.proc.kill('SIGTERM');
    await until('the worker to begin shutting down', async () => /shutting down/.test(worker.output()));
    fake!.release();
    expect(await worker.exited).toBe(0);
    expect(await s.fresh.db('jobs').where({ id: jobId }).first()).toMatchObject({ status: 'succeeded' });
    expect((await waitForGeneration(s, acc.key, wf.id)).status).toBe('succeeded');
  });
});

describe('SIGTERM to serve', () => {
  let serve: (CliProcess & { origin: string }) | null = null;
  let fresh: { dataDir: string; close(): Promise<void> } | null = null;
  afterAll(async () => {
    await serve?.kill9();
    await fresh?.close();
  });

  it('turns /readyz 503 while draining, finishes the request in flight, then exits 0', async () => {
    const { freshDb } = await import('../helpers/db.js');
    const { childEnv } = await import('../publish-http/processes.js');
    const db = await freshDb('sqlite');
    fresh = db;
    serve = await startServeProcess(childEnv(db, { LAVENDLY_SHUTDOWN_DELAY_MS: '1500', LAVENDLY_SERVE_WORKER: '0' }));
    const key = (await serve.waitFor(/export LAVENDLY_API_KEY=(\S+)/))[1]!;
    const url = new URL(`${serve.origin}/v1/workflows`);
    const body = JSON.stringify({ name: 'In flight', shots: [{ prompt: 'a fox', duration_s: 5 }] });
    // Headers and half the body now, the rest after SIGTERM.
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(url, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        let text = '';
        res.on('data', (d) => { text += String(d); });
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 1_000);
    });
    await new Promise((r) => setTimeout(r, 200));
    serve.child.kill('SIGTERM');
    await serve.waitFor(/shutting down/);
    const ready = await fetch(`${serve.origin}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable', database: 'up', draining: true });
    expect((await fetch(`${serve.origin}/livez`)).status).toBe(200);
    const done = await answer;
    expect(done.status, done.text).toBe(201);
    expect(await serve.exited).toBe(0);
    await expect(fetch(`${serve.origin}/livez`)).rejects.toThrow();
  });
});
