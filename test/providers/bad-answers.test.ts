/**
 * Provider answers that are valid JSON but not what the API documents (`null`, a list, a number
 * where text belongs): each is a `provider_bad_response` ProviderError after one attempt, never a
 * TypeError whose "Cannot read properties of null" would reach a client or rerun the job.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/media/index.js';
import { OpenAIImageProvider } from '../../src/providers/openai-image.js';
import { OpenAIVideoProvider } from '../../src/providers/openai-video.js';
import { RunwayImageProvider, RunwayVideoProvider } from '../../src/providers/runway.js';
import { fakeMedia } from './fakes/media.js';
import { OPENAI_KEY, startFakeOpenAI, type VideoScript } from './fakes/openai.js';
import { RUNWAY_SECRET, startFakeRunway, type RunwayScript } from './fakes/runway.js';
import type { FakeServer } from './fakes/server.js';

let dir: string;
let still: string;
let fake: FakeServer | null = null;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-bad-answers-'));
  still = path.join(dir, 'still.png');
  fs.writeFileSync(still, (await fakeMedia()).png);
});
afterEach(async () => {
  await fake?.close();
  fake = null;
});

const http = { retries: 3, backoffMs: 10 };
const clip = (name: string) => ({ imagePath: still, prompt: 'a fox', durationS: 3, width: 320, height: 180, outPath: path.join(dir, `${name}.mp4`) });

async function badResponse(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect(err).toMatchObject({ code: 'provider_bad_response', transient: false, retryable: true });
  expect((err as Error).message).not.toMatch(/Cannot read properties|is not a function|undefined/);
  return err as ProviderError;
}

async function openai(script: VideoScript) {
  const f = await startFakeOpenAI(script);
  fake = f;
  const s = { apiKey: OPENAI_KEY, baseUrl: f.baseUrl, deadlineS: 10, pollMs: 10, maxBytes: 50_000_000, http };
  return { f, video: new OpenAIVideoProvider('sora-2', s), image: new OpenAIImageProvider('gpt-image-1', s) };
}

async function runway(script: RunwayScript) {
  const f = await startFakeRunway(script);
  fake = f;
  const s = { apiSecret: RUNWAY_SECRET, baseUrl: f.origin, version: '2024-11-06', downloadHosts: [], deadlineS: 10, pollMs: 10, maxBytes: 50_000_000, http };
  return { f, video: new RunwayVideoProvider('gen4_turbo', s), image: new RunwayImageProvider('gen4_image', s) };
}

describe('answers that are JSON but not the documented object', () => {
  it('OpenAI video: a submission answered `null` or a list, a poll answered `null`', async () => {
    for (const json of [null, [1, 2], 42]) {
      const { f, video } = await openai({ rejectFirst: [{ json }] });
      await badResponse(video.generateClip(clip('submit')));
      expect(f.seen.filter((r) => r.method === 'POST').length).toBe(1);
      await f.close();
    }
    const { video } = await openai({ pollReply: { json: null } });
    await badResponse(video.generateClip(clip('poll')));
  });

  it('OpenAI video: a failed video whose error is not an object still fails with a reason', async () => {
    const { video } = await openai({ pollReply: { json: { id: 'video_1', status: 'failed', error: 'boom' } } });
    const err = await video.generateClip(clip('failed')).then(() => null, (e) => e);
    expect(err).toMatchObject({ code: 'provider_failed' });
    expect(err.message).toMatch(/no reason given/);
  });

  it('OpenAI Images: an answer of `null`', async () => {
    const { f, image } = await openai({ images: { rejectFirst: [{ json: null }] } });
    await badResponse(image.generateImage({ prompt: 'a fox', width: 320, height: 180, outPath: path.join(dir, 'img.png') }));
    expect(f.seen.filter((r) => r.path === '/v1/images/generations').length).toBe(1);
  });

  it('Runway: a submission answered `null`, a poll answered `null`', async () => {
    const { f, video } = await runway({ rejectFirst: [{ json: null }] });
    await badResponse(video.generateClip(clip('rw-submit')));
    expect(f.seen.filter((r) => r.method === 'POST').length).toBe(1);
    await f.close();
    const { image } = await runway({ pollReply: { json: null } });
    await badResponse(image.generateImage({ prompt: 'a fox', width: 320, height: 180, outPath: path.join(dir, 'rw.png') }));
  });

  it('Runway: a failureCode that is a number, a failure that is an object', async () => {
    const { video } = await runway({ polls: 0, fail: { failureCode: 42, failure: { nested: true } } });
    const err = await video.generateClip(clip('rw-code')).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'provider_failed', retryable: true });
    expect(err.message).toMatch(/no reason given \(42\)/);
  });
});

describe('answers too large for what they are', () => {
  it('a poll answer of 3 MB is refused (control answers are capped at 2 MB); the Images API may answer more', async () => {
    const pad = 'x'.repeat(3 * 1024 * 1024);
    const { f, video } = await openai({ polls: 0, pollReply: { json: { id: 'video_1', status: 'completed', error: null, pad } } });
    const err = await badResponse(video.generateClip(clip('huge-poll')));
    expect(err.message).toMatch(/more than 2097152 bytes of JSON/);
    expect(f.seen.some((r) => r.path.endsWith('/content'))).toBe(false);
    await f.close();
    const media = await fakeMedia();
    const { image } = await openai({ images: { answer: { created: 1, data: [{ b64_json: media.png.toString('base64') }], pad } } });
    await image.generateImage({ prompt: 'a fox', width: 320, height: 180, outPath: path.join(dir, 'big-answer.png') });
  });
});
