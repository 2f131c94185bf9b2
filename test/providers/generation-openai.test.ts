/**
 * Generation on OpenAI's video model, end to end against the fake: prices by model, a content
 * refusal as the user sees it (get_generation_status), and a `lavendly worker` killed after the
 * submission, whose successor resumes the same task (the fake counts one submission).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertInvariants } from '../../src/ledger/index.js';
import type { Worker } from '../../src/jobs/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, ledger, probeUrl, startWorker, useGeneration, waitForGeneration } from '../generation/helpers.js';
import { OPENAI_KEY, startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { lavendlyWorker, until, type Child } from './helpers.js';

const sora = (fake: FakeOpenAI, extra: Record<string, string> = {}) => ({
  LAVENDLY_VIDEO_MODEL: 'openai:sora-2', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl,
  LAVENDLY_PROVIDER_POLL_MS: '20', LAVENDLY_PROVIDER_BACKOFF_MS: '10', ...extra,
});

describe.each(testDatabases())('generation on openai:sora-2 (%s)', (kind) => {
  let s: TestServer;
  let fake: FakeOpenAI | null = null;
  let worker: Worker | null = null;
  const children: Child[] = [];

  beforeAll(async () => { s = await startTestServer(kind); });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
      await c.exited;
    }
    await worker?.stop({ abortAfterMs: 5_000 });
    worker = null;
    await fake?.close();
    fake = null;
    await assertInvariants(s.fresh.db);
  });
  afterAll(async () => { await s.close(); });

  it('prices with the model, generates through the fake, and charges per delivered clip', async () => {
    fake = await startFakeOpenAI({ polls: 2 });
    const g = useGeneration(s, sora(fake));
    const acc = await s.account({ credits: 100 });
    const wf = await createFox(s, acc.key, [{ prompt: 'The fox reads', duration_s: 3 }]);
    const est = await call(`${s.base}/workflows/${wf.id}/cost-estimate`, { key: acc.key });
    expect(est.json.total).toBe(2 + 3 * 10); // still + 3 s of sora-2 at 10 credits a second
    expect((await generate(s, acc.key, wf.id, {})).status).toBe(202);
    worker = startWorker(s, g);
    const st = await waitForGeneration(s, acc.key, wf.id);
    expect(st.status, JSON.stringify(st)).toBe('succeeded');
    expect(fake.accepted).toMatchObject([{ model: 'sora-2', prompt: 'The fox reads', seconds: '4', size: '1280x720' }]);
    expect(fake.problems).toEqual([]);
    const clip = await probeUrl(s, st.scenes[0].clip_url);
    expect(clip).toMatchObject({ hasVideo: true, hasAudio: true, width: 320, height: 180 });
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 68, reserved: 0 });
  });

  it('a content refusal fails the scene for good: not retryable, the reason shown, nothing charged', async () => {
    fake = await startFakeOpenAI({ fail: { code: 'moderation_blocked', message: 'Your request was blocked by our moderation system.' } });
    const g = useGeneration(s, sora(fake));
    const acc = await s.account({ credits: 100 });
    const wf = await createFox(s, acc.key, [{ prompt: 'The fox reads', duration_s: 3 }]);
    await generate(s, acc.key, wf.id, {});
    worker = startWorker(s, g);
    const st = await waitForGeneration(s, acc.key, wf.id);
    expect(st.status).toBe('failed');
    expect(st.scenes[0].error).toMatchObject({ code: 'content_policy', retryable: false });
    expect(st.scenes[0].error.message).toMatch(/refused on content grounds.*blocked by our moderation system/);
    expect(st.phase).toMatch(/not retryable/);
    expect(fake.accepted.length).toBe(1); // not retried
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 100, reserved: 0 });
  });

  it('a task past its deadline fails the scene as retryable and releases its credits', async () => {
    fake = await startFakeOpenAI({ never: true });
    const g = useGeneration(s, sora(fake, { LAVENDLY_PROVIDER_DEADLINE_S: '0.5' }));
    const acc = await s.account({ credits: 100 });
    const wf = await createFox(s, acc.key, [{ prompt: 'The fox reads', duration_s: 3 }]);
    await generate(s, acc.key, wf.id, {});
    worker = startWorker(s, g);
    const st = await waitForGeneration(s, acc.key, wf.id);
    expect(st.scenes[0].error).toMatchObject({ code: 'provider_timeout', retryable: true });
    expect(st.phase).toMatch(/may succeed \(retryable\)/);
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 100, reserved: 0 });
  });

  it('a worker killed (SIGKILL) after the submission: the next one resumes the same task, one submission, one charge', async () => {
    fake = await startFakeOpenAI({ hold: true });
    const env = sora(fake);
    useGeneration(s, env);
    const acc = await s.account({ credits: 100 });
    const wf = await createFox(s, acc.key, [{ prompt: 'The fox reads', duration_s: 3 }]);
    const started = await generate(s, acc.key, wf.id, {});
    const first = lavendlyWorker(s, env);
    children.push(first);
    await first.ready;
    const row = await until('the task id to be stored', async () => {
      const r = await s.fresh.db('generation_scenes').where({ generation_id: started.json.id }).first();
      return r?.provider_task ? r : null;
    });
    expect(JSON.parse(row.provider_task)).toEqual({ step: 'video', model: 'openai:sora-2', id: 'video_1' });
    expect(fake.accepted.length).toBe(1);
    first.proc.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = lavendlyWorker(s, env);
    children.push(second);
    await second.ready;
    await until('the second worker to poll the task', async () => fake!.seen.filter((r) => r.path === '/v1/videos/video_1').length > 3 && (await s.fresh.db('jobs').where({ id: row.job_id }).first()).attempts === 2);
    fake.release();
    const st = await waitForGeneration(s, acc.key, wf.id);
    expect(st.status, JSON.stringify(st)).toBe('succeeded');
    expect(fake.accepted.length).toBe(1);
    expect(second.output()).not.toContain(OPENAI_KEY);
    expect(first.output()).not.toContain(OPENAI_KEY);
    const entries = await s.fresh.db('ledger_entries').where({ reservation_id: row.reservation_id }).orderBy('seq').pluck('kind');
    expect(entries).toEqual(['reserve', 'commit']);
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 68, reserved: 0 });
  });
});
