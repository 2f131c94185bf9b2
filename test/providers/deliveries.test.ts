/**
 * Deliveries that conforming would have made fit are refused before they are accepted: a clip far
 * shorter than the scene (it would have been padded with its last frame), a clip of another shape
 * (it would have been cropped to a sliver), an "image" whose bytes are a video. On a scene this is
 * `bad_clip`, retryable, and nothing is charged.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/media/index.js';
import { OpenAIImageProvider } from '../../src/providers/openai-image.js';
import { OpenAIVideoProvider } from '../../src/providers/openai-video.js';
import { RunwayImageProvider, RunwayVideoProvider } from '../../src/providers/runway.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, ledger, startWorker, useGeneration, waitForGeneration } from '../generation/helpers.js';
import { fakeMedia, type FakeMedia } from './fakes/media.js';
import { OPENAI_KEY, startFakeOpenAI } from './fakes/openai.js';
import { RUNWAY_SECRET, startFakeRunway } from './fakes/runway.js';
import type { FakeServer } from './fakes/server.js';

let dir: string;
let still: string;
let media: FakeMedia;
let fake: FakeServer | null = null;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-deliveries-'));
  still = path.join(dir, 'still.png');
  media = await fakeMedia();
  fs.writeFileSync(still, media.png);
});
afterEach(async () => {
  await fake?.close();
  fake = null;
});

const s = { deadlineS: 10, pollMs: 10, maxBytes: 50_000_000, http: { retries: 2, backoffMs: 10 } };
const clip = (name: string, durationS = 4) => ({ imagePath: still, prompt: 'a fox', durationS, width: 320, height: 180, outPath: path.join(dir, `${name}.mp4`) });

async function refused(p: Promise<unknown>, code: string): Promise<ProviderError> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect(err).toMatchObject({ code, transient: false, retryable: true });
  return err as ProviderError;
}

describe('deliveries that do not fit the scene', () => {
  it('OpenAI: a 0.2 s clip for a 4 s scene, and a portrait clip for a landscape scene, are bad_clip; nothing lands', async () => {
    const f = await startFakeOpenAI({ polls: 0, contentReply: { bytes: media.blipMp4 } });
    fake = f;
    const video = new OpenAIVideoProvider('sora-2', { ...s, apiKey: OPENAI_KEY, baseUrl: f.baseUrl });
    const req = clip('blip');
    const err = await refused(video.generateClip(req), 'bad_clip');
    expect(err.message).toMatch(/delivered 0\.\d+ s of video for a 4 s scene/);
    expect(fs.existsSync(req.outPath)).toBe(false);
    f.script.contentReply = { bytes: media.tallMp4 };
    expect((await refused(video.generateClip(clip('tall')), 'bad_clip')).message).toMatch(/200x640 clip for a 320x180 scene/);
    // A delivery a little longer than the scene is cut, as before.
    f.script.contentReply = undefined;
    await video.generateClip(clip('fits', 3.8));
  });

  it('Runway: a 0.2 s clip is bad_clip; an image task delivering a video is refused', async () => {
    const f = await startFakeRunway({ polls: 0, fileReply: { bytes: media.blipMp4 } });
    fake = f;
    const rs = { ...s, apiSecret: RUNWAY_SECRET, baseUrl: f.origin, version: '2024-11-06', downloadHosts: [] };
    await refused(new RunwayVideoProvider('gen4_turbo', rs).generateClip(clip('rw-blip')), 'bad_clip');
    f.script.fileReply = { bytes: media.mp4 };
    const out = path.join(dir, 'rw-image.png');
    await refused(new RunwayImageProvider('gen4_image', rs).generateImage({ prompt: 'a fox', width: 320, height: 180, outPath: out }), 'provider_bad_result');
    expect(fs.existsSync(out)).toBe(false);
  });

  it('OpenAI Images: b64_json bytes that are a video, not an image, are refused', async () => {
    const f = await startFakeOpenAI({ images: { answer: { created: 1, data: [{ b64_json: media.mp4.toString('base64') }] } } });
    fake = f;
    const out = path.join(dir, 'b64-video.png');
    const err = await refused(new OpenAIImageProvider('gpt-image-1', { ...s, apiKey: OPENAI_KEY, baseUrl: f.baseUrl }).generateImage({ prompt: 'a fox', width: 320, height: 180, outPath: out }), 'provider_bad_result');
    expect(err.message).toMatch(/video\/mp4, not an image/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('a scene whose clip is far too short', () => {
  let server: TestServer;
  beforeAll(async () => { server = await startTestServer('sqlite'); });
  afterAll(async () => { await server.close(); });

  it('fails bad_clip, retryable, and is not charged', async () => {
    const f = await startFakeOpenAI({ polls: 0, contentReply: { bytes: media.blipMp4 } });
    fake = f;
    const g = useGeneration(server, { LAVENDLY_VIDEO_MODEL: 'openai:sora-2', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: f.baseUrl, LAVENDLY_PROVIDER_POLL_MS: '20' });
    const acc = await server.account({ credits: 100 });
    const wf = await createFox(server, acc.key, [{ prompt: 'The fox reads', duration_s: 4 }]);
    await generate(server, acc.key, wf.id, {});
    const worker = startWorker(server, g);
    try {
      const st = await waitForGeneration(server, acc.key, wf.id);
      expect(st.scenes[0].error).toMatchObject({ code: 'bad_clip', retryable: true });
      expect(f.accepted.length).toBe(1);
      expect(await ledger(server, acc.key)).toMatchObject({ balance: 100, reserved: 0 });
    } finally {
      await worker.stop({ abortAfterMs: 5_000 });
    }
  });
});
