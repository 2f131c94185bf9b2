import { stat } from 'node:fs/promises';
import { describeFailure, fileBody, json, send, transient, type HttpResponse } from './http.js';
import { accessTokenFor } from './oauth.js';
import { clampUtf16 } from './text.js';
import { PublishError, type PublishRequest, type PublishResult, type Publisher } from './types.js';
import { monotonicNow } from '../db/cluster-time.js';

/** TikTok's post title (the caption) holds at most 2200 UTF-16 code units. */
const TIKTOK_CAPTION_MAX = 2200;
const MB = 1024 * 1024;

export interface TikTokOptions {
  apiBaseUrl: string;
  /** 5 MB..64 MB per TikTok's rules; files under 5 MB go up whole. */
  chunkSize: number;
  pollIntervalMs: number;
  /** How long to wait for TikTok to finish processing before calling the post failed. */
  pollTimeoutMs: number;
  timeoutMs: number;
  uploadTimeoutMs: number;
}

const defaultTikTokOptions: TikTokOptions = {
  apiBaseUrl: 'https://open.tiktokapis.com',
  chunkSize: 10 * MB,
  pollIntervalMs: 5_000,
  pollTimeoutMs: 10 * 60_000,
  timeoutMs: 30_000,
  uploadTimeoutMs: 30 * 60_000,
};

interface TikTokEnvelope<T> {
  data?: T;
  error?: { code?: string; message?: string; log_id?: string };
}

export interface ChunkPlan {
  chunkSize: number;
  totalChunkCount: number;
  /** Inclusive byte ranges; the last chunk takes the remainder (TikTok allows it up to 128 MB). */
  ranges: [number, number][];
}

/** TikTok's chunking: whole file under 5 MB (or under one chunk), else floor(size / chunk) chunks. */
export function planChunks(size: number, chunkSize: number): ChunkPlan {
  const size_ = Math.min(Math.max(chunkSize, 5 * MB), 64 * MB);
  if (size < 5 * MB || size <= size_) return { chunkSize: size, totalChunkCount: 1, ranges: [[0, size - 1]] };
  const count = Math.floor(size / size_);
  const ranges: [number, number][] = [];
  for (let i = 0; i < count; i++) ranges.push([i * size_, i === count - 1 ? size - 1 : (i + 1) * size_ - 1]);
  return { chunkSize: size_, totalChunkCount: count, ranges };
}

/**
 * TikTok sends post ids as 64-bit JSON numbers (`publicaly_available_post_id`, sic), which
 * JSON.parse would round; the digits are read from the raw text instead.
 */
function postIdFrom(text: string): string | undefined {
  return /"publicaly_available_post_id"\s*:\s*\[\s*"?(\d+)"?/.exec(text)?.[1];
}


function envelope<T>(step: string, res: HttpResponse): T {
  const body = json<TikTokEnvelope<T>>('TikTok', step, res);
  if (res.status !== 200 || (body.error?.code && body.error.code !== 'ok') || !body.data) {
    throw new PublishError(describeFailure('TikTok', step, res), transient(res.status), res.status);
  }
  return body.data;
}

/** The init request's body: the caller supplies only text; we set privacy, interactions, AIGC. */
function tiktokInitBody(
  request: PublishRequest,
  privacyLevel: string,
  plan: ChunkPlan,
  size: number,
  creator: { comment_disabled?: boolean; duet_disabled?: boolean; stitch_disabled?: boolean } = {},
): Record<string, unknown> {
  // TikTok has one text field: the title leads the caption unless the caption already says it.
  const parts = [request.title, request.caption].map((t) => t?.trim() ?? '').filter(Boolean);
  const text = parts.length === 2 && parts[1]!.includes(parts[0]!) ? parts[1]! : parts.join('\n\n');
  return {
    post_info: {
      title: clampUtf16(text, TIKTOK_CAPTION_MAX),
      privacy_level: privacyLevel,
      disable_comment: creator.comment_disabled ?? false,
      disable_duet: creator.duet_disabled ?? false,
      disable_stitch: creator.stitch_disabled ?? false,
      video_cover_timestamp_ms: 1000,
      // TikTok's "AI-generated content" label: every Lavendly video is AI-generated.
      is_aigc: true,
    },
    source_info: { source: 'FILE_UPLOAD', video_size: size, chunk_size: plan.chunkSize, total_chunk_count: plan.totalChunkCount },
  };
}

/**
 * Content Posting API, direct post: query the creator's allowed privacy levels, init the post with
 * the AI-generated flag, PUT the bytes in chunks with Content-Range, then poll the publish status
 * until TikTok says the post is complete (or failed).
 */
export function tiktokPublisher(opts: Partial<TikTokOptions> = {}): Publisher {
  const options = { ...defaultTikTokOptions, ...opts };
  return {
    platform: 'tiktok',
    async publish(request: PublishRequest): Promise<PublishResult> {
      const base = options.apiBaseUrl.replace(/\/$/, '');
      const token = await accessTokenFor(request, { platform: 'TikTok', tokenUrl: `${base}/v2/oauth/token/`, clientIdField: 'client_key', timeoutMs: options.timeoutMs });
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=UTF-8' };
      const post = (step: string, path: string, body: unknown, beforeUpload: boolean) =>
        send('TikTok', step, `${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body), timeoutMs: options.timeoutMs, beforeUpload });
      const call = async <T>(step: string, path: string, body: unknown, beforeUpload: boolean) =>
        envelope<T>(step, await post(step, path, body, beforeUpload));

      const creator = await call<{
        creator_username?: string; privacy_level_options?: string[];
        comment_disabled?: boolean; duet_disabled?: boolean; stitch_disabled?: boolean;
      }>('creator info', '/v2/post/publish/creator_info/query/', {}, true);
      const wanted = typeof request.channel.credentials.privacy_level === 'string'
        ? request.channel.credentials.privacy_level : 'PUBLIC_TO_EVERYONE';
      const allowed = creator.privacy_level_options ?? [];
      const privacyLevel = allowed.includes(wanted) ? wanted : allowed.includes('SELF_ONLY') ? 'SELF_ONLY' : allowed[0] ?? wanted;

      const size = (await stat(request.video.path)).size;
      if (size === 0) throw new PublishError('The rendered video is empty; render it again.');
      const plan = planChunks(size, options.chunkSize);
      const init = await call<{ publish_id: string; upload_url: string }>(
        'init', '/v2/post/publish/video/init/', tiktokInitBody(request, privacyLevel, plan, size, creator), true);

      for (const [first, last] of plan.ranges) {
        const res = await send('TikTok', 'upload', init.upload_url, {
          method: 'PUT',
          headers: { 'content-type': 'video/mp4', 'content-length': String(last - first + 1), 'content-range': `bytes ${first}-${last}/${size}` },
          ...fileBody(request.video.path, first, last),
          timeoutMs: options.uploadTimeoutMs,
          beforeUpload: false,
        });
        const done = last === size - 1;
        if (!(res.status === 201 || res.status === 200 || (!done && res.status === 206))) {
          throw new PublishError(describeFailure('TikTok', 'upload', res), false, res.status);
        }
      }

      const deadline = monotonicNow() + options.pollTimeoutMs;
      for (;;) {
        const res = await post('status', '/v2/post/publish/status/fetch/', { publish_id: init.publish_id }, false);
        const status = envelope<{ status: string; fail_reason?: string }>('status', res);
        if (status.status === 'PUBLISH_COMPLETE') {
          const postId = postIdFrom(res.text);
          const user = creator.creator_username ?? (request.channel.credentials.username as string | undefined);
          const profile = user ? `https://www.tiktok.com/@${encodeURIComponent(user)}` : 'https://www.tiktok.com';
          return postId !== undefined
            ? { externalId: String(postId), url: `${profile}/video/${postId}` }
            : { externalId: init.publish_id, url: profile };
        }
        if (status.status === 'FAILED') {
          throw new PublishError(`TikTok could not publish the video: ${status.fail_reason ?? 'no reason given'}`);
        }
        if (monotonicNow() >= deadline) {
          throw new PublishError(`TikTok was still processing the video after ${Math.round(options.pollTimeoutMs / 1000)} s (publish id ${init.publish_id})`);
        }
        await new Promise((r) => setTimeout(r, options.pollIntervalMs));
      }
    },
  };
}
