/**
 * A submission that may have been accepted is never sent again: not by the HTTP client and not
 * by the job queue rerunning the step (each rerun would pay for another task). The fakes count
 * the submissions they received while the worker runs the scene to its end; a refusal the
 * provider states (429, 503) is retried only within the client's bounded budget.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertInvariants } from '../../src/ledger/index.js';
import type { Worker } from '../../src/jobs/index.js';
import { testDatabases } from '../helpers/db.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, ledger, startWorker, useGeneration, waitForGeneration } from '../generation/helpers.js';
import { OPENAI_KEY, startFakeOpenAI } from './fakes/openai.js';
import { RUNWAY_SECRET, startFakeRunway } from './fakes/runway.js';
import type { FakeServer, Reply } from './fakes/server.js';

const tuning = { LAVENDLY_PROVIDER_POLL_MS: '20', LAVENDLY_PROVIDER_BACKOFF_MS: '10', LAVENDLY_PROVIDER_RETRIES: '2' };
const always = (r: Reply): Reply[] => Array.from({ length: 50 }, () => r);
/** The answer starts, then the connection is cut (the request was fully sent). */
const cutMidBody: Reply = {
  raw: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"id": "video_');
    setTimeout(() => res.socket?.destroy(), 20);
  },
};

interface Case {
  name: string;
  start(): Promise<{ fake: FakeServer; env: Record<string, string>; path: string }>;
  submits: number;
  error: Record<string, unknown>;
}

const sora = (rejectFirst: Reply[]) => async () => {
  const fake = await startFakeOpenAI({ rejectFirst });
  return { fake, path: '/v1/videos', env: { LAVENDLY_VIDEO_MODEL: 'openai:sora-2', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl } };
};

const cases: Case[] = [
  { name: 'a 500 to the submission', start: sora(always({ status: 500, json: { error: { message: 'internal error' } } })), submits: 1, error: { code: 'provider_unavailable', retryable: true } },
  { name: 'a connection cut while the answer arrives', start: sora(always(cutMidBody)), submits: 1, error: { code: 'provider_unavailable', retryable: true } },
  { name: 'a 200 whose body is null', start: sora(always({ json: null })), submits: 1, error: { code: 'provider_bad_response', retryable: true } },
  { name: 'a 502 from a proxy (it may have passed the request on)', start: sora(always({ status: 502, json: { error: { message: 'bad gateway' } } })), submits: 1, error: { code: 'provider_unavailable', retryable: true } },
  // Stated refusals: retried by the client (1 + LAVENDLY_PROVIDER_RETRIES), never again by the queue.
  { name: 'a 503 every time', start: sora(always({ status: 503, json: { error: { message: 'overloaded' } } })), submits: 3, error: { code: 'provider_unavailable', retryable: true } },
  { name: 'a 429 every time', start: sora(always({ status: 429, headers: { 'retry-after': '0' }, json: { error: { message: 'slow down' } } })), submits: 3, error: { code: 'provider_rate_limited', retryable: true } },
  {
    name: 'the Images API answering null',
    start: async () => {
      const fake = await startFakeOpenAI({ images: { rejectFirst: always({ json: null }) } });
      return { fake, path: '/v1/images/generations', env: { LAVENDLY_IMAGE_MODEL: 'openai:gpt-image-1', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl } };
    },
    submits: 1, error: { code: 'provider_bad_response', retryable: true },
  },
  {
    name: 'Runway text_to_image answering 500',
    start: async () => {
      const fake = await startFakeRunway({ rejectFirst: always({ status: 500, json: { error: 'internal' } }) });
      return { fake, path: '/v1/text_to_image', env: { LAVENDLY_IMAGE_MODEL: 'runway:gen4_image', RUNWAYML_API_SECRET: RUNWAY_SECRET, RUNWAYML_BASE_URL: fake.origin } };
    },
    submits: 1, error: { code: 'provider_unavailable', retryable: true },
  },
];

describe.each(testDatabases())('submissions that may have been accepted (%s)', (kind) => {
  let s: TestServer;
  let fake: FakeServer | null = null;
  let worker: Worker | null = null;

  beforeAll(async () => { s = await startTestServer(kind); });
  afterEach(async () => {
    await worker?.stop({ abortAfterMs: 5_000 });
    worker = null;
    await fake?.close();
    fake = null;
    await assertInvariants(s.fresh.db);
  });
  afterAll(async () => { await s.close(); });

  it.each(cases)('$name: submitted $submits time(s), the scene fails retryable, nothing charged', async (c) => {
    const started = await c.start();
    fake = started.fake;
    const g = useGeneration(s, { ...started.env, ...tuning });
    const acc = await s.account({ credits: 100 });
    const wf = await createFox(s, acc.key, [{ prompt: 'The fox reads', duration_s: 3 }]);
    await generate(s, acc.key, wf.id, {});
    worker = startWorker(s, g);
    const st = await waitForGeneration(s, acc.key, wf.id);
    expect(st.status).toBe('failed');
    expect(st.scenes[0].error, JSON.stringify(st.scenes[0].error)).toMatchObject(c.error);
    expect(st.scenes[0].error.message).not.toMatch(/Cannot read properties/);
    expect(fake.seen.filter((r) => r.method === 'POST' && r.path === started.path).length).toBe(c.submits);
    expect(await ledger(s, acc.key)).toMatchObject({ balance: 100, reserved: 0 });
  });
});
