import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localPublisher } from '../../src/publish/local.js';
import { planChunks, tiktokPublisher } from '../../src/publish/tiktok.js';
import { PublishError, type PublishRequest } from '../../src/publish/types.js';
import { youtubePublisher } from '../../src/publish/youtube.js';
import { mockTikTok, mockYouTube } from './platforms.js';

const MB = 1024 * 1024;
let dir: string;
let small: string;
let large: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-adapters-'));
  small = path.join(dir, 'small.mp4');
  large = path.join(dir, 'large.mp4');
  fs.writeFileSync(small, crypto.randomBytes(200_000));
  fs.writeFileSync(large, crypto.randomBytes(12 * MB + 12345));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function request(platform: 'youtube' | 'tiktok' | 'local', over: Partial<PublishRequest> = {}): PublishRequest {
  return {
    video: { path: small, url: null, durationS: 15 },
    title: 'Bookshop fox',
    caption: 'A sleepy fox finds a map. #fox',
    channel: { id: 'ch_test', name: 'Fox channel', platform, credentials: { access_token: 'tok-123' } },
    publicationId: 'pub_test',
    ...over,
  };
}

describe('YouTube adapter', () => {
  it('opens a resumable session with the metadata and AI disclosure, then uploads the bytes', async () => {
    const yt = await mockYouTube({ token: 'tok-123' });
    try {
      const longTitle = `<Fox> ${'very long title '.repeat(12)}`;
      const result = await youtubePublisher({ apiBaseUrl: yt.baseUrl }).publish(request('youtube', { title: longTitle }));
      expect(yt.problems).toEqual([]);
      expect(result).toEqual({ externalId: 'dQw4w9WgXcQ', url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ' });
      expect(yt.exchanges.map((e) => e.method)).toEqual(['POST', 'PUT']);
      const meta = JSON.parse(yt.exchanges[0]!.body.toString('utf8'));
      expect(meta.status).toEqual({ privacyStatus: 'public', selfDeclaredMadeForKids: false, containsSyntheticMedia: true });
      expect(meta.snippet.categoryId).toBe('22');
      expect(meta.snippet.description).toBe('A sleepy fox finds a map. #fox');
      expect([...meta.snippet.title].length).toBe(100);
      expect(meta.snippet.title.startsWith('Fox very long title')).toBe(true);
      expect(yt.exchanges[0]!.headers['x-upload-content-length']).toBe('200000');
      expect(yt.uploaded()!.equals(fs.readFileSync(small))).toBe(true);
    } finally {
      await yt.close();
    }
  });

  it('reports refusals without the token; server errors before upload are retryable', async () => {
    const refused = await mockYouTube({ token: 'tok-123', sessionAnswer: { status: 401, json: { error: { message: 'Invalid Credentials' } } } });
    const down = await mockYouTube({ token: 'tok-123', sessionAnswer: { status: 503, json: { error: { message: 'backendError' } } } });
    try {
      const e1 = await youtubePublisher({ apiBaseUrl: refused.baseUrl }).publish(request('youtube')).catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(PublishError);
      expect(e1).toMatchObject({ retryable: false, httpStatus: 401 });
      expect((e1 as Error).message).toMatch(/Invalid Credentials/);
      expect((e1 as Error).message).not.toContain('tok-123');
      const e2 = await youtubePublisher({ apiBaseUrl: down.baseUrl }).publish(request('youtube')).catch((e: unknown) => e);
      expect(e2).toMatchObject({ retryable: true, httpStatus: 503 });
      await expect(youtubePublisher({ apiBaseUrl: down.baseUrl }).publish(request('youtube', {
        channel: { id: 'ch_x', name: 'x', platform: 'youtube', credentials: {} },
      }))).rejects.toThrow(/no access or refresh token/);
    } finally {
      await refused.close();
      await down.close();
    }
  });
});

describe('token refresh', () => {
  it('renews an expired YouTube token from the refresh token and hands back the new credentials', async () => {
    const yt = await mockYouTube({ token: 'fresh-token' });
    try {
      const renewed: Record<string, unknown>[] = [];
      const credentials = { access_token: 'old-token', expires_at: '2000-01-01T00:00:00Z', refresh_token: 'refresh-1', client_id: 'app-id', client_secret: 'app-secret' };
      const result = await youtubePublisher({ apiBaseUrl: yt.baseUrl, tokenUrl: `${yt.baseUrl}/token` }).publish(request('youtube', {
        channel: { id: 'ch_r', name: 'r', platform: 'youtube', credentials },
        onCredentialsRefreshed: async (c) => { renewed.push(c); },
      }));
      expect(yt.problems).toEqual([]);
      expect(result.externalId).toBe('dQw4w9WgXcQ');
      expect(renewed).toHaveLength(1);
      expect(renewed[0]).toMatchObject({ access_token: 'fresh-token', refresh_token: 'refresh-1', client_id: 'app-id' });
      expect(Date.parse(renewed[0]!.expires_at as string)).toBeGreaterThan(Date.now() + 3_000_000);
      // A revoked refresh token is not retryable and reads as an authorization failure.
      const err = await youtubePublisher({ apiBaseUrl: yt.baseUrl, tokenUrl: `${yt.baseUrl}/token` }).publish(request('youtube', {
        channel: { id: 'ch_r', name: 'r', platform: 'youtube', credentials: { ...credentials, refresh_token: 'revoked' } },
      })).catch((e: unknown) => e);
      expect(err).toMatchObject({ retryable: false, httpStatus: 401 });
    } finally {
      await yt.close();
    }
  });

  it('keeps the refresh token TikTok rotates', async () => {
    const tt = await mockTikTok({ token: 'fresh-token', processingPolls: 0 });
    try {
      const renewed: Record<string, unknown>[] = [];
      await tiktokPublisher({ apiBaseUrl: tt.baseUrl, pollIntervalMs: 5 }).publish(request('tiktok', {
        channel: { id: 'ch_t', name: 't', platform: 'tiktok', credentials: { refresh_token: 'refresh-1', client_key: 'app-id', client_secret: 'app-secret' } },
        onCredentialsRefreshed: async (c) => { renewed.push(c); },
      }));
      expect(tt.problems).toEqual([]);
      expect(renewed[0]).toMatchObject({ access_token: 'fresh-token', refresh_token: 'rotated-refresh-token' });
    } finally {
      await tt.close();
    }
  });
});

describe('TikTok adapter', () => {
  it('inits a direct post flagged as AI-generated, uploads in Content-Range chunks, polls until complete', async () => {
    const tt = await mockTikTok({ token: 'tok-123', processingPolls: 2 });
    try {
      const caption = `${'#fox '.repeat(500)}end`; // 2503 characters
      const result = await tiktokPublisher({ apiBaseUrl: tt.baseUrl, chunkSize: 5 * MB, pollIntervalMs: 5 })
        .publish(request('tiktok', { video: { path: large, url: null, durationS: 15 }, title: null, caption }));
      expect(tt.problems).toEqual([]);
      expect(result).toEqual({ externalId: '7300000000000000001', url: 'https://www.tiktok.com/@fox.studio/video/7300000000000000001' });
      const init = tt.initBody();
      expect(init.post_info.is_aigc).toBe(true);
      expect(init.post_info.privacy_level).toBe('PUBLIC_TO_EVERYONE');
      expect(init.post_info.disable_stitch).toBe(true); // the creator's setting is respected
      expect(init.post_info.title.length).toBeLessThanOrEqual(2200);
      expect(init.post_info.title.startsWith('#fox #fox')).toBe(true);
      expect(init.source_info).toEqual({ source: 'FILE_UPLOAD', video_size: 12 * MB + 12345, chunk_size: 5 * MB, total_chunk_count: 2 });
      const puts = tt.exchanges.filter((e) => e.method === 'PUT');
      expect(puts.map((p) => p.headers['content-range'])).toEqual([
        `bytes 0-${5 * MB - 1}/${12 * MB + 12345}`,
        `bytes ${5 * MB}-${12 * MB + 12344}/${12 * MB + 12345}`,
      ]);
      expect(tt.uploaded().equals(fs.readFileSync(large))).toBe(true);
      expect(tt.exchanges.filter((e) => e.path === '/v2/post/publish/status/fetch/')).toHaveLength(3);
    } finally {
      await tt.close();
    }
  });

  it('uploads small files whole, falls back to a private post when public is not allowed, and reports FAILED', async () => {
    const tt = await mockTikTok({ token: 'tok-123', privacyOptions: ['FOLLOWER_OF_CREATOR', 'SELF_ONLY'], processingPolls: 0, finalStatus: 'FAILED' });
    try {
      const err = await tiktokPublisher({ apiBaseUrl: tt.baseUrl, pollIntervalMs: 5 }).publish(request('tiktok')).catch((e: unknown) => e);
      expect(tt.problems).toEqual([]);
      expect(err).toBeInstanceOf(PublishError);
      expect((err as Error).message).toMatch(/file_format_check_failed/);
      const init = tt.initBody();
      expect(init.post_info.privacy_level).toBe('SELF_ONLY');
      expect(init.post_info.is_aigc).toBe(true);
      expect(init.post_info.title).toBe('Bookshop fox\n\nA sleepy fox finds a map. #fox');
      expect(init.source_info).toEqual({ source: 'FILE_UPLOAD', video_size: 200_000, chunk_size: 200_000, total_chunk_count: 1 });
      expect(tt.exchanges.filter((e) => e.method === 'PUT')[0]!.headers['content-range']).toBe('bytes 0-199999/200000');
    } finally {
      await tt.close();
    }
  });

  it('plans chunks by TikTok rules', () => {
    expect(planChunks(4 * MB, 10 * MB)).toMatchObject({ chunkSize: 4 * MB, totalChunkCount: 1 });
    expect(planChunks(9 * MB, 10 * MB)).toMatchObject({ chunkSize: 9 * MB, totalChunkCount: 1 });
    expect(planChunks(25 * MB + 7, 10 * MB)).toEqual({
      chunkSize: 10 * MB, totalChunkCount: 2, ranges: [[0, 10 * MB - 1], [10 * MB, 25 * MB + 6]],
    });
    expect(planChunks(30 * MB, 1)).toMatchObject({ chunkSize: 5 * MB, totalChunkCount: 6 });
  });
});

describe('local adapter', () => {
  it('copies the video into <dataDir>/published/<channel>/ and answers a file URL', async () => {
    const dataDir = path.join(dir, 'data');
    const publisher = localPublisher({ dataDir });
    const result = await publisher.publish(request('local'));
    const written = fileURLToPath(result.url);
    expect(written).toBe(path.join(dataDir, 'published', 'ch_test', 'pub_test.mp4'));
    expect(fs.readFileSync(written).equals(fs.readFileSync(small))).toBe(true);
    expect(result.externalId).toBe('ch_test/pub_test.mp4');
    // Again: the same file, not a second one; no temporary files left behind.
    await publisher.publish(request('local'));
    expect(fs.readdirSync(path.dirname(written))).toEqual(['pub_test.mp4']);
    await expect(publisher.publish(request('local', { video: { path: path.join(dir, 'missing.mp4'), url: null, durationS: null } })))
      .rejects.toThrow(/missing/);
  });
});
