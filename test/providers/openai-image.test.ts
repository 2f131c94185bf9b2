/**
 * OpenAI's Images adapter (gpt-image-1, b64_json) against the fake on a loopback listener: the
 * request, retries, a safety refusal, malformed answers. (The call is synchronous: there is no
 * task to poll or to resume after a crash; its deadline is the request timeout.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia, ProviderError } from '../../src/media/index.js';
import { OpenAIImageProvider } from '../../src/providers/openai-image.js';
import { OPENAI_KEY, startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';

let dir: string;
let fake: FakeOpenAI | null = null;

beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-openai-image-')); });
afterEach(async () => {
  await fake?.close();
  fake = null;
});

const adapter = (f: FakeOpenAI) => new OpenAIImageProvider('gpt-image-1', {
  apiKey: OPENAI_KEY, baseUrl: f.baseUrl, deadlineS: 30, pollMs: 20, maxBytes: 10_000_000, http: { retries: 3, backoffMs: 10 },
});
const still = (name: string, w = 320, h = 180) => ({ prompt: 'a sleepy fox in a bookshop', width: w, height: h, outPath: path.join(dir, `${name}.png`) });

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('OpenAI Images adapter', () => {
  it('posts the documented request and lands the b64_json picture at the scene size', async () => {
    fake = await startFakeOpenAI();
    const out = await adapter(fake).generateImage(still('ok'));
    await adapter(fake).generateImage(still('portrait', 180, 320));
    expect(fake.images).toEqual([
      { model: 'gpt-image-1', prompt: 'a sleepy fox in a bookshop', size: '1536x1024', n: 1 },
      { model: 'gpt-image-1', prompt: 'a sleepy fox in a bookshop', size: '1024x1536', n: 1 },
    ]);
    expect(fake.problems).toEqual([]);
    expect(await probeMedia(out.path)).toMatchObject({ width: 320, height: 180 });
  });

  it('retries a 429 (Retry-After) and a 500, then answers once', async () => {
    fake = await startFakeOpenAI({ images: { rejectFirst: [
      { status: 429, headers: { 'retry-after': '0' }, json: { error: { message: 'Rate limit reached for images', code: 'rate_limit_exceeded' } } },
      { status: 503, json: { error: { message: 'overloaded' } } },
    ] } });
    await adapter(fake).generateImage(still('retry'));
    expect(fake.seen.filter((r) => r.path === '/v1/images/generations').length).toBe(3);
    expect(fake.images.length).toBe(1);
  });

  it('a moderation_blocked 400 is a content refusal, not retryable, with OpenAI\'s reason', async () => {
    fake = await startFakeOpenAI({ images: { refuse: 'Your request was rejected as a result of our safety system.' } });
    const err = await failure(adapter(fake).generateImage(still('refused')));
    expect(err).toMatchObject({ code: 'content_policy', retryable: false, transient: false });
    expect(err.message).toBe('openai:gpt-image-1 refused the image on content grounds: Your request was rejected as a result of our safety system.');
  });

  it('malformed answers: no b64_json, or bytes that are not an image', async () => {
    fake = await startFakeOpenAI({ images: { answer: { created: 1, data: [{ url: 'https://example.com/x.png' }] } } });
    expect(await failure(adapter(fake).generateImage(still('no-b64')))).toMatchObject({ code: 'provider_bad_response', retryable: true });
    await fake.close();
    fake = await startFakeOpenAI({ images: { answer: { created: 1, data: [{ b64_json: Buffer.from('GIF89a nonsense').toString('base64') }] } } });
    const req = still('garbage');
    expect(await failure(adapter(fake).generateImage(req))).toMatchObject({ code: 'provider_bad_result' });
    expect(fs.existsSync(req.outPath)).toBe(false);
  });
});
