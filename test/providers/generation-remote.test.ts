/**
 * Generation on each hosted video model, end to end against its fake: prices by model, a content
 * refusal as the user sees it (get_generation_status), a deadline, and a `lavendly worker` killed
 * after the submission whose successor resumes the same task (the fake counts one submission).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertInvariants } from '../../src/ledger/index.js';
import type { Worker } from '../../src/jobs/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, ledger, probeUrl, startWorker, useGeneration, waitForGeneration } from '../generation/helpers.js';
import { OPENAI_KEY, startFakeOpenAI } from './fakes/openai.js';
import { RUNWAY_SECRET, startFakeRunway } from './fakes/runway.js';
import { lavendlyWorker, until, type Child } from './helpers.js';

type Behaviour = 'ok' | 'refuse' | 'never' | 'hold';

interface Fake {
  env: Record<string, string>;
  accepted(): number;
  /** GETs of the task's status so far. */
  polls(id: string): number;
  problems: string[];
  release(): void;
  close(): Promise<void>;
}

interface Kit {
  model: string;
  /** Credits per second of scene. */
  perS: number;
  firstTask: string;
  /** The provider's words in a refusal, as the scene must show them. */
  refusal: RegExp;
  start(b: Behaviour): Promise<Fake>;
}

const tuning = { LAVENDLY_PROVIDER_POLL_MS: '20', LAVENDLY_PROVIDER_BACKOFF_MS: '10' };

const kits: Kit[] = [
  {
    model: 'openai:sora-2', perS: 10, firstTask: 'video_1', refusal: /^The video model openai:sora-2 refused the clip on content grounds: Your request was blocked by our moderation system\.$/,
    async start(b) {
      const f = await startFakeOpenAI({
        polls: 2, hold: b === 'hold', never: b === 'never',
        fail: b === 'refuse' ? { code: 'moderation_blocked', message: 'Your request was blocked by our moderation system.' } : undefined,
      });
      return {
        env: { LAVENDLY_VIDEO_MODEL: 'openai:sora-2', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: f.baseUrl, ...tuning },
        accepted: () => f.accepted.length, polls: (id) => f.seen.filter((r) => r.path === `/v1/videos/${id}`).length,
        problems: f.problems, release: f.release, close: f.close,
      };
    },
  },
  {
    model: 'runway:gen4_turbo', perS: 5, firstTask: 'task_1', refusal: /^The video model runway:gen4_turbo refused the clip on content grounds: The image did not pass content moderation\. \(SAFETY\.INPUT\.IMAGE\)$/,
    async start(b) {
      const f = await startFakeRunway({
        polls: 2, hold: b === 'hold', never: b === 'never',
        fail: b === 'refuse' ? { failureCode: 'SAFETY.INPUT.IMAGE', failure: 'The image did not pass content moderation.' } : undefined,
      });
      return {
        env: { LAVENDLY_VIDEO_MODEL: 'runway:gen4_turbo', RUNWAYML_API_SECRET: RUNWAY_SECRET, RUNWAYML_BASE_URL: f.origin, ...tuning },
        accepted: () => f.accepted.length, polls: (id) => f.seen.filter((r) => r.path === `/v1/tasks/${id}`).length,
        problems: f.problems, release: f.release, close: f.close,
      };
    },
  },
];

describe.each(testDatabases())('generation on hosted video models (%s)', (kind) => {
  let s: TestServer;
  let fake: Fake | null = null;
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

  async function oneScene(env: Record<string, string>) {
    const g = useGeneration(s, env);
    const acc = await s.account({ credits: 100 });
    const wf = await createFox(s, acc.key, [{ prompt: 'The fox reads', duration_s: 3 }]);
    return { g, acc, wf };
  }

  it('the opening still comes from the image model, the clip from the video model, both charged once', async () => {
    const openai = await startFakeOpenAI();
    const runway = await startFakeRunway({ polls: 1 });
    try {
      const { g, acc, wf } = await oneScene({
        LAVENDLY_IMAGE_MODEL: 'openai:gpt-image-1', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openai.baseUrl,
        LAVENDLY_VIDEO_MODEL: 'runway:gen4_turbo', RUNWAYML_API_SECRET: RUNWAY_SECRET, RUNWAYML_BASE_URL: runway.origin, ...tuning,
      });
      await generate(s, acc.key, wf.id, {});
      worker = startWorker(s, g);
      const st = await waitForGeneration(s, acc.key, wf.id);
      expect(st.status, JSON.stringify(st)).toBe('succeeded');
      expect(openai.images).toEqual([{ model: 'gpt-image-1', prompt: 'The fox reads', size: '1536x1024', n: 1 }]);
      expect(runway.accepted.map((a) => [a.endpoint, a.image])).toEqual([['image_to_video', { width: 1280, height: 720 }]]);
      expect([...openai.problems, ...runway.problems]).toEqual([]);
      expect(await probeUrl(s, st.scenes[0].image_url)).toMatchObject({ width: 320, height: 180 });
      expect(await ledger(s, acc.key)).toMatchObject({ balance: 100 - 2 - 3 * 5, reserved: 0 });
    } finally {
      await openai.close();
      await runway.close();
    }
  });

  describe.each(kits)('$model', (kit) => {
    it('prices with the model, generates through the provider, and charges the delivered clip', async () => {
      fake = await kit.start('ok');
      const { g, acc, wf } = await oneScene(fake.env);
      const est = await call(`${s.base}/workflows/${wf.id}/cost-estimate`, { key: acc.key });
      expect(est.json.total).toBe(2 + 3 * kit.perS);
      expect((await generate(s, acc.key, wf.id, {})).status).toBe(202);
      worker = startWorker(s, g);
      const st = await waitForGeneration(s, acc.key, wf.id);
      expect(st.status, JSON.stringify(st)).toBe('succeeded');
      expect(fake.accepted()).toBe(1);
      expect(fake.problems).toEqual([]);
      expect(await probeUrl(s, st.scenes[0].clip_url)).toMatchObject({ hasVideo: true, hasAudio: true, width: 320, height: 180 });
      expect(await ledger(s, acc.key)).toMatchObject({ balance: 100 - 2 - 3 * kit.perS, reserved: 0 });
    });

    it('a content refusal fails the scene for good: not retryable, the provider\'s reason shown, nothing charged', async () => {
      fake = await kit.start('refuse');
      const { g, acc, wf } = await oneScene(fake.env);
      await generate(s, acc.key, wf.id, {});
      worker = startWorker(s, g);
      const st = await waitForGeneration(s, acc.key, wf.id);
      expect(st.status).toBe('failed');
      expect(st.scenes[0].error).toMatchObject({ code: 'content_policy', retryable: false });
      expect(st.scenes[0].error.message).toMatch(kit.refusal);
      expect(st.phase).toMatch(/not retryable/);
      expect(fake.accepted()).toBe(1); // never retried
      expect(await ledger(s, acc.key)).toMatchObject({ balance: 100, reserved: 0 });
    });

    it('a task past its deadline fails the scene as retryable and releases its credits', async () => {
      fake = await kit.start('never');
      const { g, acc, wf } = await oneScene({ ...fake.env, LAVENDLY_PROVIDER_DEADLINE_S: '0.5' });
      await generate(s, acc.key, wf.id, {});
      worker = startWorker(s, g);
      const st = await waitForGeneration(s, acc.key, wf.id);
      expect(st.scenes[0].error).toMatchObject({ code: 'provider_timeout', retryable: true });
      expect(st.phase).toMatch(/may succeed \(retryable\)/);
      expect(await ledger(s, acc.key)).toMatchObject({ balance: 100, reserved: 0 });
    });

    it('a worker killed (SIGKILL) after the submission: the next one resumes the same task, one submission, one charge', async () => {
      const f = (fake = await kit.start('hold'));
      const { acc, wf } = await oneScene(f.env);
      const started = await generate(s, acc.key, wf.id, {});
      const first = lavendlyWorker(s, f.env);
      children.push(first);
      await first.ready;
      const row = await until('the task id to be stored', async () => {
        const r = await s.fresh.db('generation_scenes').where({ generation_id: started.json.id }).first();
        return r?.provider_task ? r : null;
      });
      expect(JSON.parse(row.provider_task)).toEqual({ step: 'video', model: kit.model, id: kit.firstTask });
      first.proc.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');

      const second = lavendlyWorker(s, f.env);
      children.push(second);
      await second.ready;
      const polledBefore = f.polls(kit.firstTask);
      await until('the second worker to poll the same task', async () =>
        f.polls(kit.firstTask) > polledBefore && (await s.fresh.db('jobs').where({ id: row.job_id }).first()).attempts === 2);
      f.release();
      const st = await waitForGeneration(s, acc.key, wf.id);
      expect(st.status, JSON.stringify(st)).toBe('succeeded');
      expect(f.accepted()).toBe(1);
      for (const c of [first, second]) {
        expect(c.output()).not.toContain(OPENAI_KEY);
        expect(c.output()).not.toContain(RUNWAY_SECRET);
      }
      const entries = await s.fresh.db('ledger_entries').where({ reservation_id: row.reservation_id }).orderBy('seq').pluck('kind');
      expect(entries).toEqual(['reserve', 'commit']);
      expect(await ledger(s, acc.key)).toMatchObject({ balance: 100 - 2 - 3 * kit.perS, reserved: 0 });
    });
  });
});
