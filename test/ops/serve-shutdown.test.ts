// SIGTERM to `lavendly serve` running its own jobs worker while a request is still arriving.
// Its worker used to be stopped only after the last request had finished (or been cut at the end
// of the grace period): meanwhile it kept claiming new jobs, and then took a grace period of its
// own, so with the default 8 s the process outlived the 10 s a container runtime waits before
// SIGKILL, and the jobs it held then waited out their lease. The worker now stops claiming when
// shutdown starts and hands its jobs back on the requests' deadline.
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFox, generate, useGeneration } from '../generation/helpers.js';
import { testDatabases } from '../helpers/db.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../providers/helpers.js';
import { OPENAI_KEY, startFakeOpenAI, type FakeOpenAI } from '../providers/fakes/openai.js';
import { childEnv, startServeProcess, type CliProcess } from '../publish-http/processes.js';

const GRACE_MS = 3_000;

describe.each(testDatabases())('SIGTERM to serve with a job and a request in flight (%s)', (kind) => {
  let s: TestServer;
  let fake: FakeOpenAI;
  let serve: CliProcess | null = null;
  let slow: http.ClientRequest | null = null;
  beforeAll(async () => {
    s = await startTestServer(kind);
    fake = await startFakeOpenAI({ polls: 1, hold: true });
  });
  afterEach(async () => {
    slow?.destroy();
    await serve?.kill9();
  });
  afterAll(async () => {
    await fake.close();
    await s.close();
  });

  it('stops claiming at once and hands its job back within one grace period', async () => {
    const env = {
      LAVENDLY_VIDEO_MODEL: 'openai:sora-2', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl,
      LAVENDLY_PROVIDER_POLL_MS: '20', LAVENDLY_PROVIDER_BACKOFF_MS: '10', LAVENDLY_CLIP_SHORT_SIDE: '180',
      LAVENDLY_WORKER_LEASE_MS: '60000', LAVENDLY_SHUTDOWN_GRACE_MS: String(GRACE_MS),
    };
    useGeneration(s, env);
    const acc = await s.account({ credits: 100 });
    const held = await generate(s, acc.key, (await createFox(s, acc.key, [{ prompt: 'The fox reads', duration_s: 3 }])).id, {});
    expect(held.status).toBe(202);
    const proc = await startServeProcess(childEnv(s.fresh, env));
    serve = proc;
    const scene = await until('serve\'s worker to submit the clip', async () => {
      const r = await s.fresh.db('generation_scenes').where({ generation_id: held.json.id }).first();
      return r?.provider_task ? r : null;
    });

    // A request whose body never finishes: the drain waits for it the whole grace period.
    const body = JSON.stringify({ name: 'slow', shots: [{ prompt: 'a', duration_s: 3 }] });
    slow = http.request(`${proc.origin}/v1/workflows`, {
      method: 'POST', headers: { authorization: `Bearer ${acc.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    slow.on('error', () => {});
    slow.write(body.slice(0, 5));
    await new Promise((r) => setTimeout(r, 200));

    const signalledAt = Date.now();
    proc.child.kill('SIGTERM');
    await proc.waitFor(/shutting down/);
    // A job queued while serve drains is left for another worker.
    const later = await generate(s, acc.key, (await createFox(s, acc.key, [{ prompt: 'The fox sleeps', duration_s: 3 }])).id, {});
    expect(later.status).toBe(202);
    const laterScene = await s.fresh.db('generation_scenes').where({ generation_id: later.json.id }).first();

    expect(await proc.exited).toBe(0);
    const took = Date.now() - signalledAt;
    expect(await s.fresh.db('jobs').where({ id: laterScene.job_id }).first()).toMatchObject({ status: 'queued', attempts: 0 });
    expect(fake.accepted).toHaveLength(1); // the later scene never reached the provider
    // Handed back when the requests' grace ran out, not one grace period after that.
    expect(await s.fresh.db('jobs').where({ id: scene.job_id }).first()).toMatchObject({ status: 'queued', lease_owner: null, attempts: 0 });
    expect(took).toBeGreaterThanOrEqual(GRACE_MS);
    expect(took).toBeLessThan(2 * GRACE_MS - 500);
  }, 60_000);
});
