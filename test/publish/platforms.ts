import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local stand-ins for the platforms' APIs. Each checks a request the way the platform's
 * documentation describes it and answers 400 with the reason when it does not match, so an adapter
 * that drifts from the documented shape fails loudly; everything it saw is kept for assertions.
 */
export interface Exchange {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface MockPlatform {
  baseUrl: string;
  exchanges: Exchange[];
  problems: string[];
  close(): Promise<void>;
}

type Answer = { status: number; headers?: Record<string, string>; json?: unknown; raw?: string };

async function serve(handle: (ex: Exchange, base: string, problems: string[]) => Answer): Promise<MockPlatform> {
  const exchanges: Exchange[] = [];
  const problems: string[] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const ex = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      exchanges.push(ex);
      const before = problems.length;
      let a: Answer;
      try {
        a = handle(ex, base, problems);
      } catch (err) {
        problems.push(`${ex.method} ${ex.path}: ${(err as Error).message}`);
        a = { status: 400 };
      }
      if (problems.length > before) a = { status: 400, json: { error: { message: problems.slice(before).join('; ') } } };
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.raw ?? (a.json === undefined ? '' : JSON.stringify(a.json)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { baseUrl: base, exchanges, problems, close: () => new Promise((r) => server.close(() => r())) };
}

function expectThat(problems: string[], ok: boolean, what: string) {
  if (!ok) problems.push(what);
}

/** OAuth 2.0 refresh_token grant (RFC 6749 section 6): form-encoded app credentials and refresh token. */
function refreshAnswer(ex: Exchange, problems: string[], clientField: string, token: string, rotated?: string): Answer {
  expectThat(problems, ex.headers['content-type'] === 'application/x-www-form-urlencoded', 'token request must be form-encoded');
  const form = new URLSearchParams(ex.body.toString('utf8'));
  expectThat(problems, form.get('grant_type') === 'refresh_token', 'grant_type must be refresh_token');
  expectThat(problems, form.get(clientField) === 'app-id', `${clientField} missing`);
  expectThat(problems, form.get('client_secret') === 'app-secret', 'client_secret missing');
  if (form.get('refresh_token') !== 'refresh-1') return { status: 400, json: { error: 'invalid_grant' } };
  return { status: 200, json: { access_token: token, expires_in: 3599, token_type: 'Bearer', ...(rotated ? { refresh_token: rotated } : {}) } };
}

export interface YouTubeMockOptions {
  token: string;
  /** Override the answer to the session request (to simulate refusals). */
  sessionAnswer?: Answer;
}

/** YouTube Data API v3 `videos.insert`, resumable protocol. */
export function mockYouTube(opts: YouTubeMockOptions): Promise<MockPlatform & { uploaded: () => Buffer | null }> {
  let announced = -1;
  let uploaded: Buffer | null = null;
  return serve((ex, base, problems) => {
    const url = new URL(ex.path, base);
    if (ex.method === 'POST' && url.pathname === '/token') return refreshAnswer(ex, problems, 'client_id', opts.token);
    expectThat(problems, ex.headers.authorization === `Bearer ${opts.token}`, 'missing or wrong OAuth bearer token');
    if (ex.method === 'POST' && url.pathname === '/upload/youtube/v3/videos') {
      if (opts.sessionAnswer) return opts.sessionAnswer;
      expectThat(problems, url.searchParams.get('uploadType') === 'resumable', 'uploadType must be resumable');
      expectThat(problems, url.searchParams.get('part') === 'snippet,status', 'part must be snippet,status');
      expectThat(problems, /^application\/json(; ?charset=UTF-8)?$/i.test(String(ex.headers['content-type'])), 'metadata must be JSON');
      expectThat(problems, ex.headers['x-upload-content-type'] === 'video/mp4', 'X-Upload-Content-Type must be video/mp4');
      announced = Number(ex.headers['x-upload-content-length']);
      expectThat(problems, Number.isInteger(announced) && announced > 0, 'X-Upload-Content-Length must be the byte size');
      const meta = JSON.parse(ex.body.toString('utf8'));
      expectThat(problems, typeof meta.snippet?.title === 'string' && meta.snippet.title.length > 0, 'snippet.title is required');
      expectThat(problems, [...(meta.snippet?.title ?? '')].length <= 100, 'snippet.title longer than 100 characters');
      expectThat(problems, !/[<>]/.test(meta.snippet?.title + meta.snippet?.description), 'angle brackets are not allowed');
      expectThat(problems, Buffer.byteLength(meta.snippet?.description ?? '') <= 5000, 'snippet.description over 5000 bytes');
      expectThat(problems, ['public', 'unlisted', 'private'].includes(meta.status?.privacyStatus), 'status.privacyStatus invalid');
      expectThat(problems, typeof meta.status?.selfDeclaredMadeForKids === 'boolean', 'status.selfDeclaredMadeForKids missing');
      return { status: 200, headers: { location: `${base}/upload/youtube/v3/videos?uploadType=resumable&upload_id=UPL${crypto.randomBytes(4).toString('hex')}` } };
    }
    if (ex.method === 'PUT' && url.pathname === '/upload/youtube/v3/videos' && url.searchParams.get('upload_id')) {
      expectThat(problems, ex.headers['content-type'] === 'video/mp4', 'upload Content-Type must be video/mp4');
      expectThat(problems, ex.body.length === announced, `uploaded ${ex.body.length} bytes, announced ${announced}`);
      expectThat(problems, Number(ex.headers['content-length']) === ex.body.length, 'Content-Length must match the bytes');
      uploaded = ex.body;
      return { status: 200, json: { kind: 'youtube#video', id: 'dQw4w9WgXcQ', status: { uploadStatus: 'uploaded' } } };
    }
    problems.push(`unexpected ${ex.method} ${url.pathname}`);
    return { status: 404 };
  }).then((m) => ({ ...m, uploaded: () => uploaded }));
}

export interface TikTokMockOptions {
  token: string;
  privacyOptions?: string[];
  /** How many status polls answer PROCESSING_UPLOAD before PUBLISH_COMPLETE (or FAILED). */
  processingPolls?: number;
  finalStatus?: 'PUBLISH_COMPLETE' | 'FAILED';
}

const ok = (data: unknown) => ({ status: 200, json: { data, error: { code: 'ok', message: '', log_id: 'log1' } } });

/** TikTok Content Posting API, direct post with FILE_UPLOAD. */
export function mockTikTok(opts: TikTokMockOptions): Promise<MockPlatform & { uploaded: () => Buffer; initBody: () => any }> {
  let init: any = null;
  const parts: Buffer[] = [];
  let nextByte = 0;
  let polls = 0;
  return serve((ex, base, problems) => {
    const url = new URL(ex.path, base);
    if (ex.method === 'POST' && url.pathname === '/v2/oauth/token/') {
      return refreshAnswer(ex, problems, 'client_key', opts.token, 'rotated-refresh-token');
    }
    if (ex.method === 'POST' && url.pathname.startsWith('/v2/')) {
      expectThat(problems, ex.headers.authorization === `Bearer ${opts.token}`, 'missing or wrong bearer token');
      expectThat(problems, /^application\/json; charset=UTF-8$/i.test(String(ex.headers['content-type'])), 'Content-Type must be application/json; charset=UTF-8');
    }
    if (ex.method === 'POST' && url.pathname === '/v2/post/publish/creator_info/query/') {
      return ok({
        creator_username: 'fox.studio', creator_nickname: 'Fox', max_video_post_duration_sec: 600,
        privacy_level_options: opts.privacyOptions ?? ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY'],
        comment_disabled: false, duet_disabled: false, stitch_disabled: true,
      });
    }
    if (ex.method === 'POST' && url.pathname === '/v2/post/publish/video/init/') {
      init = JSON.parse(ex.body.toString('utf8'));
      const p = init.post_info ?? {};
      const s = init.source_info ?? {};
      expectThat(problems, typeof p.title === 'string' && p.title.length <= 2200, 'post_info.title over 2200 runes');
      expectThat(problems, (opts.privacyOptions ?? ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY']).includes(p.privacy_level), 'privacy_level not among the creator options');
      expectThat(problems, typeof p.disable_comment === 'boolean', 'post_info.disable_comment must be boolean');
      expectThat(problems, p.is_aigc === true || p.is_aigc === false, 'post_info.is_aigc must be boolean');
      expectThat(problems, s.source === 'FILE_UPLOAD', 'source_info.source must be FILE_UPLOAD');
      const MB = 1024 * 1024;
      const size = s.video_size;
      const single = s.total_chunk_count === 1 && s.chunk_size === size;
      expectThat(problems, single || (s.chunk_size >= 5 * MB && s.chunk_size <= 64 * MB), 'chunk_size must be 5..64 MB unless the file goes whole');
      expectThat(problems, single || s.total_chunk_count === Math.floor(size / s.chunk_size), 'total_chunk_count must be floor(video_size / chunk_size)');
      expectThat(problems, size >= 5 * MB || single, 'files under 5 MB must be uploaded whole');
      return ok({ publish_id: 'v_pub_file~v2-1.7300000000000000001', upload_url: `${base}/video/upload/?upload_id=71&upload_token=tok` });
    }
    if (ex.method === 'PUT' && url.pathname === '/video/upload/') {
      const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(ex.headers['content-range']));
      expectThat(problems, ex.headers['content-type'] === 'video/mp4', 'upload Content-Type must be video/mp4');
      expectThat(problems, !!range, 'Content-Range must be bytes first-last/total');
      if (!range) return { status: 400 };
      const [first, last, total] = range.slice(1).map(Number) as [number, number, number];
      expectThat(problems, first === nextByte, `chunk starts at ${first}, expected ${nextByte}`);
      expectThat(problems, total === init?.source_info?.video_size, 'total in Content-Range must be video_size');
      expectThat(problems, ex.body.length === last - first + 1, 'chunk length must match Content-Range');
      expectThat(problems, Number(ex.headers['content-length']) === ex.body.length, 'Content-Length must match the chunk');
      parts.push(ex.body);
      nextByte = last + 1;
      return { status: nextByte === total ? 201 : 206 };
    }
    if (ex.method === 'POST' && url.pathname === '/v2/post/publish/status/fetch/') {
      const body = JSON.parse(ex.body.toString('utf8'));
      expectThat(problems, body.publish_id === 'v_pub_file~v2-1.7300000000000000001', 'status fetch needs the publish_id');
      polls++;
      if (polls <= (opts.processingPolls ?? 1)) return ok({ status: 'PROCESSING_UPLOAD', uploaded_bytes: nextByte });
      if (opts.finalStatus === 'FAILED') return ok({ status: 'FAILED', fail_reason: 'file_format_check_failed' });
      // A 64-bit number, as TikTok sends it (more digits than a double holds).
      const text = JSON.stringify({ data: { status: 'PUBLISH_COMPLETE', publicaly_available_post_id: ['POSTID'], uploaded_bytes: nextByte }, error: { code: 'ok', message: '', log_id: 'log1' } });
      return { status: 200, raw: text.replace('["POSTID"]', '[7300000000000000001]') };
    }
    problems.push(`unexpected ${ex.method} ${url.pathname}`);
    return { status: 404 };
  }).then((m) => ({ ...m, uploaded: () => Buffer.concat(parts), initBody: () => init }));
}
