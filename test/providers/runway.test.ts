/**
 * Runway's adapters (image-to-video and text-to-image) against a fake of the documented API on
 * a loopback listener: the request as sent, polling, retries, a SAFETY refusal, a deadline, a
 * broken delivery, delivery hosts, and resuming a stored task.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia, ProviderError, type RemoteTask } from '../../src/media/index.js';
import { RunwayImageProvider, RunwayVideoProvider, type RunwaySettings } from '../../src/providers/runway.js';
import { fakeMedia } from './fakes/media.js';
import { RUNWAY_SECRET, startFakeRunway, type FakeRunway } from './fakes/runway.js';

let dir: string;
let still: string;
let fake: FakeRunway | null = null;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-runway-'));
  still = path.join(dir, 'still.png');
  fs.writeFileSync(still, (await fakeMedia()).png);
});
afterEach(async () => {
  await fake?.close();
  fake = null;
});

function settings(f: FakeRunway, o: Partial<RunwaySettings> = {}): RunwaySettings {
  return {
    apiSecret: RUNWAY_SECRET, baseUrl: f.origin, version: '2024-11-06', downloadHosts: ['.cloudfront.net'],
    deadlineS: 30, pollMs: 20, maxBytes: 50_000_000, http: { retries: 3, backoffMs: 10 }, ...o,
  };
}
const video = (f: FakeRunway, o: Partial<RunwaySettings> = {}) => new RunwayVideoProvider('gen4_turbo', settings(f, o));
const clip = (name: string, extra: Record<string, unknown> = {}) => ({
  imagePath: still, prompt: 'the map starts to glow', durationS: 3, width: 320, height: 180, outPath: path.join(dir, `${name}.mp4`), ...extra,
});

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('Runway adapters', () => {
  it('image_to_video: the documented request, polls to SUCCEEDED, downloads without our key, adds the missing sound', async () => {
    fake = await startFakeRunway({ polls: 3 });
    const stored: RemoteTask[] = [];
    const out = await video(fake).generateClip(clip('ok', { onSubmitted: async (t: RemoteTask) => { stored.push(t); } }));
    expect(fake.problems).toEqual([]);
    expect(fake.accepted).toEqual([{ endpoint: 'image_to_video', model: 'gen4_turbo', promptText: 'the map starts to glow', ratio: '1280:720', duration: 5, image: { width: 1280, height: 720 } }]);
    expect(stored).toEqual([{ model: 'runway:gen4_turbo', id: 'task_1' }]);
    expect(fake.seen.filter((r) => r.path === '/v1/tasks/task_1').length).toBe(4);
    const probe = await probeMedia(out.path);
    expect(probe).toMatchObject({ hasVideo: true, hasAudio: true, width: 320, height: 180 });
    expect(Math.abs(probe.durationS - 3)).toBeLessThan(0.1);
  });

  it('asks for the square and portrait ratios and a 10 s clip for a longer scene', async () => {
    fake = await startFakeRunway({ polls: 0 });
    await video(fake).generateClip(clip('square', { width: 180, height: 180, durationS: 7 }));
    await video(fake).generateClip(clip('portrait', { width: 180, height: 320 }));
    expect(fake.accepted.map((a) => [a.ratio, a.duration])).toEqual([['960:960', 10], ['720:1280', 5]]);
    expect(fake.problems).toEqual([]);
  });

  it('429 with Retry-After and a 503 on submission, then one accepted task; 5xx while polling is retried too', async () => {
    fake = await startFakeRunway({
      polls: 1,
      flakyPolls: 2,
      rejectFirst: [{ status: 429, headers: { 'retry-after': '1' }, json: { error: 'Too many requests' } }, { status: 503, json: { error: 'Service unavailable' } }],
    });
    const started = Date.now();
    await video(fake).generateClip(clip('retry'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // Retry-After: 1 was honoured
    expect(fake.seen.filter((r) => r.method === 'POST').length).toBe(3);
    expect(fake.accepted.length).toBe(1);
    expect(fake.seen.filter((r) => r.path === '/v1/tasks/task_1').length).toBe(4); // two 503s, then two real polls
  });

  it('a SAFETY failure is a content-policy refusal, not retryable, with Runway\'s reason and code', async () => {
    fake = await startFakeRunway({ fail: { failureCode: 'SAFETY.INPUT.TEXT', failure: 'The prompt text did not pass content moderation.' } });
    const err = await failure(video(fake).generateClip(clip('refused')));
    expect(err).toMatchObject({ code: 'content_policy', retryable: false, transient: false });
    expect(err.message).toMatch(/did not pass content moderation.*SAFETY\.INPUT\.TEXT/);
    await fake.close();
    fake = await startFakeRunway({ fail: { failureCode: 'INTERNAL.BAD_OUTPUT.CODE01', failure: 'An unexpected error occurred.' } });
    expect(await failure(video(fake).generateClip(clip('bad-output')))).toMatchObject({ code: 'provider_failed', retryable: true });
  });

  it('a task that never finishes fails at the deadline', async () => {
    fake = await startFakeRunway({ never: true });
    const err = await failure(video(fake, { deadlineS: 0.4 }).generateClip(clip('never')));
    expect(err).toMatchObject({ code: 'provider_timeout', retryable: true });
  });

  it('a delivery that is not media is refused; nothing lands', async () => {
    fake = await startFakeRunway({ polls: 0, garbage: true });
    const req = clip('garbage');
    expect(await failure(video(fake).generateClip(req))).toMatchObject({ code: 'provider_bad_result' });
    expect(fs.existsSync(req.outPath)).toBe(false);
  });

  it('an output URL off Runway\'s hosts (or to an internal address) is not fetched', async () => {
    for (const outputUrl of ['https://attacker.example/x.mp4', 'http://169.254.169.254/latest/meta-data', 'https://d1.cloudfront.net.attacker.example/x.mp4']) {
      fake = await startFakeRunway({ polls: 0, outputUrl });
      const err = await failure(video(fake).generateClip(clip('elsewhere')));
      expect(err.code).toBe('provider_bad_response');
      expect(err.message).toMatch(/not one of its delivery hosts/);
      await fake.close();
    }
    fake = null;
  });

  it('a stored task is resumed without a second submission', async () => {
    fake = await startFakeRunway({ polls: 0 });
    await video(fake).generateClip(clip('first'));
    await video(fake).generateClip(clip('again', { resume: { model: 'runway:gen4_turbo', id: 'task_1' } }));
    expect(fake.accepted.length).toBe(1);
  });

  it('text_to_image: gen4_image at the shape\'s ratio, the image conformed to the scene size', async () => {
    fake = await startFakeRunway({ polls: 1 });
    const out = path.join(dir, 'still-out.png');
    await new RunwayImageProvider('gen4_image', settings(fake)).generateImage({ prompt: 'a sleepy fox', width: 320, height: 180, outPath: out });
    expect(fake.accepted).toMatchObject([{ endpoint: 'text_to_image', model: 'gen4_image', promptText: 'a sleepy fox', ratio: '1920:1080' }]);
    expect(fake.problems).toEqual([]);
    expect(await probeMedia(out)).toMatchObject({ width: 320, height: 180 });
  });
});
