/**
 * The vision reviewer (OpenAI-compatible chat completions, frames as images, strict JSON schema)
 * through quality_check against the fake: its findings join the signal rubric's failures and the
 * reroll hint; other scenes' stills go along for identity drift; a broken reviewer falls back to
 * the signal rubric instead of failing the check.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/jobs/index.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, startWorker, useGeneration, waitForGeneration } from '../generation/helpers.js';
import { OPENAI_KEY, startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';

describe('vision review through quality_check', () => {
  let s: TestServer;
  let fake: FakeOpenAI;
  let worker: Worker | null = null;
  let key: string;
  let wf: any;

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    fake = await startFakeOpenAI();
    // Two scenes made by the local providers; only review is hosted.
    const g = useGeneration(s);
    const acc = await s.account({ credits: 100 });
    key = acc.key;
    wf = await createFox(s, key, [{ prompt: 'The fox reads', duration_s: 2 }, { prompt: 'The fox waves its paw', duration_s: 2 }]);
    await generate(s, key, wf.id, {});
    worker = startWorker(s, g);
    expect((await waitForGeneration(s, key, wf.id)).status).toBe('succeeded');
    await worker.stop();
    worker = null;
  });
  afterEach(() => { fake.script.review = undefined; });
  afterAll(async () => {
    await fake.close();
    await s.close();
  });

  const review = () => useGeneration(s, {
    LAVENDLY_REVIEW_MODEL: 'openai:gpt-4o-mini', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl, LAVENDLY_PROVIDER_BACKOFF_MS: '10',
  });
  const check = (nodeId: string) => call(`${s.base}/workflows/${wf.id}/quality-check`, { method: 'POST', key, body: { node_id: nodeId } });

  it('sends sampled frames and the other scenes\' stills with a strict schema; findings join failures and the reroll hint', async () => {
    review();
    fake.script.review = { content: JSON.stringify({ findings: [
      { check: 'malformed_anatomy', frame: 1, message: 'the raised paw has six toes' },
      { check: 'identity_drift', frame: 2, message: 'the fox is grey here but red in the other scene' },
      { check: 'made_up_check', frame: 0, message: 'not in the schema' },
    ] }) };
    const nodeId = wf.scenes[1].node_id;
    const r = await check(nodeId);
    expect(r.status, r.text).toBe(200);
    expect(fake.reviews.at(-1)).toMatchObject({ model: 'gpt-4o-mini', frames: 4, references: 1, strictSchema: true });
    expect(fake.reviews.at(-1)!.prompt).toContain('The fox waves its paw');
    expect(r.json.pass).toBe(false);
    const vision = r.json.failures.filter((f: any) => ['malformed_anatomy', 'identity_drift', 'made_up_check'].includes(f.check));
    expect(vision).toEqual([
      { check: 'malformed_anatomy', message: 'the raised paw has six toes', at_s: 0.75 },
      { check: 'identity_drift', message: 'the fox is grey here but red in the other scene', at_s: 1.25 },
    ]);
    expect(r.json.reroll_hint).toMatch(/five fingers per hand/);
    expect(r.json.reroll_hint).toMatch(/identical to the earlier scenes/);
    expect(r.json.score).toBeLessThan(1);
    expect(r.json.vision_review).toEqual({ status: 'reviewed', provider: 'openai:gpt-4o-mini' });
  });

  it('a finding whose message is not text is shown by its check, not as [object Object]', async () => {
    review();
    fake.script.review = { content: JSON.stringify({ findings: [{ check: 'warped_text', frame: 0, message: { text: 'melting sign' } }] }) };
    const r = await check(wf.scenes[0].node_id);
    expect(r.status, r.text).toBe(200);
    expect(r.json.failures.find((f: any) => f.check === 'warped_text')).toMatchObject({ message: 'warped text' });
  });

  it('a clean answer leaves the signal verdict as it is', async () => {
    review();
    const r = await check(wf.scenes[0].node_id);
    expect(r.status, r.text).toBe(200);
    expect(r.json.failures.map((f: any) => f.check)).not.toContain('identity_drift');
    expect(fake.reviews.at(-1)).toMatchObject({ frames: 4, references: 1 });
  });

  it('a reviewer that answers garbage, or keeps failing, falls back to the signal rubric (no 500)', async () => {
    review();
    const plain = await check(wf.scenes[0].node_id);
    fake.script.review = { content: 'I think it looks fine!' };
    const garbled = await check(wf.scenes[0].node_id);
    expect(garbled.status, garbled.text).toBe(200);
    expect(garbled.json.failures).toEqual(plain.json.failures);
    // JSON that is not the asked object, in the message or as the whole answer: nonsense too.
    for (const review of [{ content: 'null' }, { content: '[1]' }, { reply: { json: null } }, { reply: { json: { choices: [null] } } }, { reply: { json: { choices: 'x' } } }]) {
      fake.script.review = review;
      const r = await check(wf.scenes[0].node_id);
      expect(r.status, `${JSON.stringify(review)}: ${r.text}`).toBe(200);
      expect(r.json.failures).toEqual(plain.json.failures);
    }
    fake.script.review = { reply: { status: 503, json: { error: { message: 'overloaded' } } } };
    const down = await check(wf.scenes[0].node_id);
    expect(down.status, down.text).toBe(200);
    expect(down.json.failures).toEqual(plain.json.failures);
    // And the report says so: the pass rests on the signal checks alone this time.
    expect(plain.json.vision_review).toEqual({ status: 'reviewed', provider: 'openai:gpt-4o-mini' });
    for (const r of [garbled, down]) expect(r.json.vision_review).toEqual({ status: 'unavailable', provider: 'openai:gpt-4o-mini' });
  });
});
