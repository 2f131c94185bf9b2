/**
 * Redirects from a provider: API calls never follow one (a 307 on the submission would carry the
 * multipart body and our key to wherever it points, a 302 on a poll would let another host decide
 * the task); a download follows one only to the provider's API origin or its delivery hosts. An
 * "internal" listener on loopback (another port) records whether anything reached it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/media/index.js';
import { safeDownload, SafeFetchError } from '../../src/net/safe-fetch.js';
import { OpenAIVideoProvider } from '../../src/providers/openai-video.js';
import { RunwayVideoProvider } from '../../src/providers/runway.js';
import { fakeMedia } from './fakes/media.js';
import { OPENAI_KEY, startFakeOpenAI, type VideoScript } from './fakes/openai.js';
import { RUNWAY_SECRET, startFakeRunway } from './fakes/runway.js';
import { startFake, type FakeServer } from './fakes/server.js';

let dir: string;
let still: string;
let internal: FakeServer;
const open: FakeServer[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-redirects-'));
  still = path.join(dir, 'still.png');
  fs.writeFileSync(still, (await fakeMedia()).png);
});
beforeEach(async () => {
  internal = await startFake(() => ({ json: { id: 'video_internal', status: 'completed' } }));
  open.push(internal);
});
afterEach(async () => {
  for (const f of open.splice(0)) await f.close();
});

const clip = (name: string) => ({ imagePath: still, prompt: 'a fox', durationS: 3, width: 320, height: 180, outPath: path.join(dir, `${name}.mp4`) });
const http = { retries: 2, backoffMs: 10 };

async function openai(script: VideoScript) {
  const f = await startFakeOpenAI(script);
  open.push(f);
  return { f, video: new OpenAIVideoProvider('sora-2', { apiKey: OPENAI_KEY, baseUrl: f.baseUrl, deadlineS: 10, pollMs: 10, maxBytes: 50_000_000, http }) };
}

async function refused(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(ProviderError);
  expect(err).toMatchObject({ code: 'provider_bad_response', retryable: true });
  return err as ProviderError;
}

describe('redirects from providers', () => {
  it('a 307 on the submission is not followed: the body and key stay home, nothing is taken as the task', async () => {
    const { f, video } = await openai({ rejectFirst: [{ status: 307, headers: { location: `${internal.origin}/v1/videos` } }] });
    const err = await refused(video.generateClip(clip('submit-307')));
    expect(err.message).toMatch(/redirect \(307 to 127\.0\.0\.1:\d+\/v1\/videos\); API calls do not follow redirects/);
    expect(internal.seen).toEqual([]);
    expect(f.seen.filter((r) => r.method === 'POST').length).toBe(1);
  });

  it('a 302 on a poll is not followed: another host cannot decide the task\'s status', async () => {
    const { video } = await openai({ pollReply: { status: 302, headers: { location: `${internal.origin}/v1/videos/video_1` } } });
    await refused(video.generateClip(clip('poll-302')));
    expect(internal.seen).toEqual([]);
  });

  it('the content endpoint redirecting off the API origin is refused; on the API origin it is followed', async () => {
    const { video } = await openai({ polls: 0, contentReply: { status: 302, headers: { location: `${internal.origin}/clip.mp4` } } });
    const err = await refused(video.generateClip(clip('content-302')));
    expect(err.message).toMatch(/not one of its delivery hosts/);
    expect(internal.seen).toEqual([]);

    const other = await openai({ polls: 0 });
    // Same origin, another path: allowed (the fake's 404 for an unknown path proves it was fetched there).
    other.f.script.contentReply = { status: 302, headers: { location: '/v1/files/clip.mp4' } };
    const e2 = await other.video.generateClip(clip('content-same-origin')).then(() => null, (e) => e);
    expect(other.f.seen.some((r) => r.path === '/v1/files/clip.mp4')).toBe(true);
    expect(e2).toBeInstanceOf(ProviderError);
  });

  it('a Runway output on the API origin that redirects to another local address is not fetched', async () => {
    const f = await startFakeRunway({ polls: 0, fileReply: { status: 302, headers: { location: `${internal.origin}/latest/meta-data` } } });
    open.push(f);
    const video = new RunwayVideoProvider('gen4_turbo', {
      apiSecret: RUNWAY_SECRET, baseUrl: f.origin, version: '2024-11-06', downloadHosts: ['.cloudfront.net'], deadlineS: 10, pollMs: 10, maxBytes: 50_000_000, http,
    });
    const err = await refused(video.generateClip(clip('runway-302')));
    expect(err.message).toMatch(/not one of its delivery hosts/);
    expect(internal.seen).toEqual([]);
  });

  it('the SSRF-safe downloader follows a redirect only where the caller allows', async () => {
    const first = await startFake(() => ({ status: 302, headers: { location: `${internal.origin}/x` } }));
    open.push(first);
    const port = new URL(first.origin).port;
    const err = await safeDownload(`${first.origin}/file`, {
      destPath: path.join(dir, 'safe.bin'), maxBytes: 1000, allowedPolicy: { allowLoopback: true }, allowRedirect: (u) => u.port === port,
    }).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(SafeFetchError);
    expect(err.reason).toBe('bad_redirect');
    expect(internal.seen).toEqual([]);
  });
});
