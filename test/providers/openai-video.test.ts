/**
 * OpenAI's video adapter against a fake of the documented API on a real loopback listener: what
 * it sends (key, model, prompt, seconds, size, reference image of that size), polling, retries,
 * refusals, deadlines, a broken delivery, and resuming a stored task.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia, ProviderError, type RemoteTask } from '../../src/media/index.js';
import { OpenAIVideoProvider } from '../../src/providers/openai-video.js';
import { fakeMedia } from './fakes/media.js';
import { OPENAI_KEY, startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';

let dir: string;
let still: string;
let fake: FakeOpenAI | null = null;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-openai-video-'));
  still = path.join(dir, 'still.png');
  fs.writeFileSync(still, (await fakeMedia()).png);
});
afterEach(async () => {
  await fake?.close();
  fake = null;
});

function adapter(f: FakeOpenAI, o: { deadlineS?: number } = {}) {
  return new OpenAIVideoProvider('sora-2', {
    apiKey: OPENAI_KEY, baseUrl: f.baseUrl, deadlineS: o.deadlineS ?? 30, pollMs: 20, maxBytes: 50_000_000,
    http: { retries: 3, backoffMs: 10 },
  });
}

function clipRequest(name: string, extra: Record<string, unknown> = {}) {
  return { imagePath: still, prompt: 'a sleepy fox finds an old map', durationS: 3, width: 320, height: 180, outPath: path.join(dir, `${name}.mp4`), ...extra };
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('OpenAI video adapter', () => {
  it('submits the documented multipart request, polls until completed, and lands a conformed clip', async () => {
    fake = await startFakeOpenAI({ polls: 3 });
    const stored: RemoteTask[] = [];
    const clip = await adapter(fake).generateClip(clipRequest('ok', { onSubmitted: async (t: RemoteTask) => { stored.push(t); } }));
    expect(fake.problems).toEqual([]);
    expect(fake.accepted).toEqual([{ model: 'sora-2', prompt: 'a sleepy fox finds an old map', seconds: '4', size: '1280x720', image: { width: 1280, height: 720 } }]);
    expect(stored).toEqual([{ model: 'openai:sora-2', id: 'video_1' }]);
    const polls = fake.seen.filter((r) => r.method === 'GET' && r.path === '/v1/videos/video_1');
    expect(polls.length).toBe(4);
    expect(fake.seen.at(-1)!.path).toBe('/v1/videos/video_1/content');
    const probe = await probeMedia(clip.path);
    expect(probe).toMatchObject({ hasVideo: true, hasAudio: true, width: 320, height: 180 });
    expect(Math.abs(probe.durationS - 3)).toBeLessThan(0.1);
  });

  it('asks for a portrait video for a 9:16 scene', async () => {
    fake = await startFakeOpenAI({ polls: 0 });
    await adapter(fake).generateClip(clipRequest('portrait', { width: 180, height: 320, durationS: 5 }));
    expect(fake.accepted[0]).toMatchObject({ seconds: '8', size: '720x1280', image: { width: 720, height: 1280 } });
    expect(fake.problems).toEqual([]);
  });

  it('a 429 with Retry-After, then a 503, then the submission is accepted once', async () => {
    fake = await startFakeOpenAI({
      polls: 1,
      rejectFirst: [
        { status: 429, headers: { 'retry-after': '0' }, json: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } },
        { status: 503, json: { error: { message: 'The server is overloaded' } } },
      ],
    });
    await adapter(fake).generateClip(clipRequest('retry'));
    expect(fake.seen.filter((r) => r.method === 'POST').length).toBe(3);
    expect(fake.accepted.length).toBe(1);
  });

  it('a refused prompt is a content-policy failure, not retryable, with OpenAI\'s reason', async () => {
    fake = await startFakeOpenAI({ fail: { code: 'moderation_blocked', message: 'Your request was blocked by our moderation system.' } });
    const err = await failure(adapter(fake).generateClip(clipRequest('refused')));
    expect(err).toMatchObject({ code: 'content_policy', transient: false, retryable: false });
    expect(err.message).toMatch(/blocked by our moderation system/);

    await fake.close();
    fake = await startFakeOpenAI({ refuseSubmit: { code: 'moderation_blocked', message: 'Your prompt was flagged by the safety system.' } });
    const early = await failure(adapter(fake).generateClip(clipRequest('refused-early')));
    expect(early).toMatchObject({ code: 'content_policy', retryable: false });
    expect(early.message).toMatch(/flagged by the safety system/);
  });

  it('a task that never finishes fails at the deadline (retryable), without a download', async () => {
    fake = await startFakeOpenAI({ never: true });
    const started = Date.now();
    const err = await failure(adapter(fake, { deadlineS: 0.5 }).generateClip(clipRequest('never')));
    expect(err).toMatchObject({ code: 'provider_timeout', transient: false, retryable: true });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fake.seen.some((r) => r.path.endsWith('/content'))).toBe(false);
  });

  it('a delivery that is not a video is refused before anything lands', async () => {
    fake = await startFakeOpenAI({ polls: 0, garbage: true });
    const req = clipRequest('garbage');
    const err = await failure(adapter(fake).generateClip(req));
    expect(err).toMatchObject({ code: 'provider_bad_result', retryable: true });
    // Said plainly: no temporary path or demuxer address of ours reaches the client.
    expect(err.message).toMatch(/not a readable video/);
    expect(err.message).not.toMatch(/\/tmp|lavendly-media|0x[0-9a-f]{4,}|cannot probe/);
    expect(fs.existsSync(req.outPath)).toBe(false);
  });

  it('a stored task is resumed (no new submission); one the provider forgot is submitted anew', async () => {
    fake = await startFakeOpenAI({ polls: 0 });
    await adapter(fake).generateClip(clipRequest('first'));
    const again = await adapter(fake).generateClip(clipRequest('resumed', { resume: { model: 'openai:sora-2', id: 'video_1' } }));
    expect(fs.existsSync(again.path)).toBe(true);
    expect(fake.accepted.length).toBe(1);
    await adapter(fake).generateClip(clipRequest('forgotten', { resume: { model: 'openai:sora-2', id: 'video_404' } }));
    expect(fake.accepted.length).toBe(2);
    // Another model's task is not this adapter's to resume.
    await adapter(fake).generateClip(clipRequest('other', { resume: { model: 'runway:gen4_turbo', id: 'video_1' } }));
    expect(fake.accepted.length).toBe(3);
  });

  it('a plain 400 about the key is provider_auth (the operator\'s problem), not a refusal of the prompt', async () => {
    fake = await startFakeOpenAI({ rejectFirst: [{ status: 400, json: { error: { message: 'Incorrect API key provided: sk-wr***ue.', type: 'invalid_request_error' } } }] });
    const err = await failure(adapter(fake).generateClip(clipRequest('400-key')));
    expect(err).toMatchObject({ code: 'provider_auth', retryable: true });
  });

  it('a wrong key is a provider_auth failure whose message does not contain the key', async () => {
    fake = await startFakeOpenAI();
    const a = new OpenAIVideoProvider('sora-2', { apiKey: 'sk-wrong-secret-value', baseUrl: fake.baseUrl, deadlineS: 5, pollMs: 20, maxBytes: 1e6, http: { retries: 1, backoffMs: 10 } });
    const err = await failure(a.generateClip(clipRequest('auth')));
    expect(err).toMatchObject({ code: 'provider_auth', transient: false });
    expect(err.message).not.toContain('sk-wrong-secret-value');
    expect(JSON.stringify(err)).not.toContain('sk-wrong-secret-value');
  });
});
