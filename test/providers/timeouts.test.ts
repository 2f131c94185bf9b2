/**
 * Time limits of provider requests against answers that stall on a loopback listener: the
 * per-request timeout survives garbage collection (a child process with --expose-gc), a poll
 * stuck in flight ends at the task's deadline, a download's body is bounded by an idle limit
 * rather than a total one (a stall is cut, a slow steady transfer completes).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/media/index.js';
import { OpenAIVideoProvider } from '../../src/providers/openai-video.js';
import { fakeMedia } from './fakes/media.js';
import { OPENAI_KEY, startFakeOpenAI, type FakeOpenAI } from './fakes/openai.js';
import { startFake, type FakeServer, type Reply } from './fakes/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let dir: string;
let still: string;
let mp4: Buffer;
let fake: FakeOpenAI | null = null;
let other: FakeServer | null = null;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-timeouts-'));
  still = path.join(dir, 'still.png');
  const media = await fakeMedia();
  fs.writeFileSync(still, media.png);
  mp4 = media.mp4;
});
afterEach(async () => {
  await fake?.close();
  await other?.close();
  fake = null;
  other = null;
});

/** Headers and the first bytes, then nothing (the connection stays open). */
const stall = (first: string | Buffer, type = 'application/json'): Reply => ({
  raw: (res) => {
    res.writeHead(200, { 'content-type': type });
    res.write(first);
  },
});

function adapter(f: FakeOpenAI, o: { deadlineS?: number; timeoutMs?: number; idleTimeoutMs?: number } = {}) {
  return new OpenAIVideoProvider('sora-2', {
    apiKey: OPENAI_KEY, baseUrl: f.baseUrl, deadlineS: o.deadlineS ?? 30, pollMs: 20, maxBytes: 50_000_000,
    http: { retries: 2, backoffMs: 10, timeoutMs: o.timeoutMs ?? 60_000, idleTimeoutMs: o.idleTimeoutMs },
  });
}
const clip = (name: string) => ({ imagePath: still, prompt: 'a fox', durationS: 3, width: 320, height: 180, outPath: path.join(dir, `${name}.mp4`) });

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('provider request time limits', () => {
  it('the per-request timeout fires while the garbage collector runs (no lost AbortSignal.timeout)', async () => {
    other = await startFake(() => stall('{"id": "video_'));
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(here, 'gc-timeout-child.ts'), `${other.origin}/v1/videos/gc`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += String(d); });
    child.stderr.on('data', (d) => { out += String(d); });
    await new Promise((resolve) => child.on('exit', resolve));
    const line = out.trim().split('\n').find((l) => l.startsWith('{'));
    expect(line, out).toBeDefined();
    const r = JSON.parse(line!);
    expect(r, out).toMatchObject({ outcome: 'failed', code: 'provider_unavailable' });
    expect(r.message).toMatch(/timed out/);
    expect(r.ms).toBeLessThan(3000);
  }, 15_000);

  it('a poll whose answer stalls in flight ends at the task\'s deadline, not at the 60 s request timeout', async () => {
    fake = await startFakeOpenAI({ pollReply: stall('{"status": "in_pro') });
    const started = Date.now();
    const err = await failure(adapter(fake, { deadlineS: 1 }).generateClip(clip('stuck-poll')));
    expect(err).toMatchObject({ code: 'provider_timeout', transient: false, retryable: true });
    expect(err.message).toMatch(/deadline/);
    expect(Date.now() - started).toBeLessThan(4000);
  }, 15_000);

  it('a download that stops sending is cut at the idle limit; nothing lands', async () => {
    fake = await startFakeOpenAI({ polls: 0, contentReply: stall(Buffer.alloc(1000), 'video/mp4') });
    const req = clip('stalled-download');
    const started = Date.now();
    const err = await failure(adapter(fake, { idleTimeoutMs: 300 }).generateClip(req));
    expect(err).toMatchObject({ code: 'provider_unavailable', transient: true });
    expect(err.message).toMatch(/no bytes arrived for 300 ms/);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(fs.existsSync(req.outPath)).toBe(false);
  }, 15_000);

  it('a slow but steady download outlasts the per-request timeout and lands', async () => {
    const drip: Reply = {
      raw: (res) => {
        res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(mp4.length) });
        const step = Math.ceil(mp4.length / 12);
        let at = 0;
        const t = setInterval(() => {
          res.write(mp4.subarray(at, at + step));
          at += step;
          if (at >= mp4.length) {
            clearInterval(t);
            res.end();
          }
        }, 60);
      },
    };
    fake = await startFakeOpenAI({ polls: 0, contentReply: drip });
    const out = await adapter(fake, { timeoutMs: 300, idleTimeoutMs: 1000 }).generateClip(clip('slow-download'));
    expect(fs.existsSync(out.path)).toBe(true);
  }, 15_000);
});
