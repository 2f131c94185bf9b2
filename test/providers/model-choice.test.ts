/**
 * A workflow chooses among the wired video models (`video_model`): validated against the wired
 * set, priced with the chosen model's price, and generated on it; other workflows keep the default.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/jobs/index.js';
import { assertInvariants } from '../../src/ledger/index.js';
import { schemas } from '../../generated/validators.gen.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, startWorker, useGeneration, waitForGeneration } from '../generation/helpers.js';
import { OPENAI_KEY, startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';

describe.each(testDatabases())('choosing a video model per workflow (%s)', (kind) => {
  let s: TestServer;
  let fake: FakeOpenAI;
  let worker: Worker | null = null;

  beforeAll(async () => {
    s = await startTestServer(kind);
    fake = await startFakeOpenAI({ polls: 1 });
  });
  afterEach(async () => {
    await worker?.stop({ abortAfterMs: 5_000 });
    worker = null;
    await assertInvariants(s.fresh.db);
  });
  afterAll(async () => {
    await fake.close();
    await s.close();
  });

  const env = () => ({
    LAVENDLY_VIDEO_MODEL: 'local,openai:sora-2', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl,
    LAVENDLY_PROVIDER_POLL_MS: '20',
  });
  const shots = [{ prompt: 'The fox reads', duration_s: 3 }];
  const estimate = async (key: string, id: string) => (await call(`${s.base}/workflows/${id}/cost-estimate`, { key })).json.total;

  it('validates the choice, prices with it, and can return to the default', async () => {
    useGeneration(s, env());
    const acc = await s.account({ credits: 100 });
    const bad = await call(`${s.base}/workflows`, { key: acc.key, body: { name: 'x', shots, video_model: 'runway:gen4_turbo' } });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'model_not_available', model: 'runway:gen4_turbo', available_models: ['local', 'openai:sora-2'] });
    // `available` is the credits of insufficient_credits: the envelope must keep to the spec's Error schema.
    expect(schemas.ErrorEnvelope.safeParse(bad.json).success).toBe(true);

    const wf = await createFox(s, acc.key, shots, { video_model: 'openai:sora-2' });
    expect(wf.video_model).toBe('openai:sora-2');
    expect(await estimate(acc.key, wf.id)).toBe(2 + 3 * 10);
    const plain = await createFox(s, acc.key, shots);
    expect(plain.video_model).toBeNull();
    expect(await estimate(acc.key, plain.id)).toBe(2 + 8);

    const back = await call(`${s.base}/workflows/${wf.id}`, { method: 'PUT', key: acc.key, body: { video_model: null } });
    expect(back.status, back.text).toBe(200);
    expect(back.json.video_model).toBeNull();
    expect(await estimate(acc.key, wf.id)).toBe(2 + 8);
    const refused = await call(`${s.base}/workflows/${wf.id}`, { method: 'PUT', key: acc.key, body: { video_model: 'openai:sora-9' } });
    expect(refused.json.error?.code).toBe('model_not_available');
  });

  it('generates each workflow on its own model', async () => {
    const g = useGeneration(s, env());
    const acc = await s.account({ credits: 100 });
    const sora = await createFox(s, acc.key, shots, { video_model: 'openai:sora-2' });
    const local = await createFox(s, acc.key, shots);
    await generate(s, acc.key, sora.id, {});
    await generate(s, acc.key, local.id, {});
    worker = startWorker(s, g);
    expect((await waitForGeneration(s, acc.key, sora.id)).status).toBe('succeeded');
    expect((await waitForGeneration(s, acc.key, local.id)).status).toBe('succeeded');
    const models = await s.fresh.db('generation_scenes').whereIn('workflow_id', [sora.id, local.id]).orderBy('workflow_id').select('workflow_id', 'model', 'credits_charged');
    expect(Object.fromEntries(models.map((m: any) => [m.workflow_id, [m.model, Number(m.credits_charged)]]))).toEqual({
      [sora.id]: ['openai:sora-2', 32], [local.id]: ['local', 10],
    });
    expect(fake.accepted.length).toBe(1);
  });
});
