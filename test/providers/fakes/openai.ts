/**
 * A fake of OpenAI's video API (and, later, images and chat completions) as documented:
 * `POST /v1/videos` (multipart: model, prompt, seconds, size, input_reference), `GET
 * /v1/videos/{id}` (status queued -> in_progress -> completed | failed, `error: {code, message}`),
 * `GET /v1/videos/{id}/content` (the MP4). Every answer first checks the Bearer key; the test
 * scripts how the video behaves and reads what was received.
 */
import { fakeClip, fakeMedia, pngSize } from './media.js';
import { startFake, type FakeServer, type Reply } from './server.js';

export const OPENAI_KEY = 'sk-test-0123456789abcdef';

export interface VideoScript {
  /** Answers given to the first submissions before one is accepted (e.g. a 429). */
  rejectFirst?: Reply[];
  /** Polls that answer in_progress before completed (default 2). */
  polls?: number;
  /** The video ends failed with this error. */
  fail?: { code: string; message: string };
  /** A 400 to the submission itself (a refused prompt). */
  refuseSubmit?: { code: string; message: string };
  /** Stays in progress until `release()`. */
  hold?: boolean;
  /** Never finishes. */
  never?: boolean;
  /** Every poll answers this instead (a misbehaving provider: `null`, a list, ...). */
  pollReply?: Reply;
  /** The content is not a video. */
  garbage?: boolean;
  /** The content answers this instead (a stall, a drip, a redirect). */
  contentReply?: Reply;
  /** Images API: answers before one is accepted, a refusal, or a malformed answer. */
  images?: { rejectFirst?: Reply[]; refuse?: string; answer?: unknown };
  /** Chat completions: what the review model says (the message content), or a status to answer. */
  review?: { content?: string; reply?: Reply };
}

export interface FakeOpenAI extends FakeServer {
  baseUrl: string;
  script: VideoScript;
  /** Submissions the fake accepted (each would be paid for). */
  accepted: { model: string; prompt: string; seconds: string; size: string; image: { width: number; height: number } | null }[];
  /** Review requests: model, frames of the clip, reference stills, and whether a strict JSON schema was asked for. */
  reviews: { model: string; frames: number; references: number; strictSchema: boolean; prompt: string }[];
  /** Image generations the fake answered. */
  images: { model: string; prompt: string; size: string; n: number }[];
  problems: string[];
  release(): void;
}

/** The video as asked: its length and size (Sora makes sound). */
function delivered(v: { seconds: string; size: string }): Promise<Buffer> {
  const [w, h] = v.size.split('x').map(Number);
  return fakeClip(Number(v.seconds) || 4, true, w || 1280, h || 720);
}

export async function startFakeOpenAI(script: VideoScript = {}): Promise<FakeOpenAI> {
  const media = await fakeMedia();
  const videos = new Map<string, { polls: number; seconds: string; size: string }>();
  let rejected = 0;
  let imagesRejected = 0;
  let held = true;
  const fake: FakeOpenAI = Object.assign(
    await startFake(async (req) => {
      if (req.headers.authorization !== `Bearer ${OPENAI_KEY}`) {
        fake.problems.push(`bad auth on ${req.method} ${req.path}: ${req.headers.authorization}`);
        return { status: 401, json: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } };
      }
      const s = fake.script;
      if (req.method === 'POST' && req.path === '/v1/chat/completions') {
        if (s.review?.reply) return s.review.reply;
        const b = req.body ?? {};
        const user = (b.messages ?? []).find((m: any) => m.role === 'user');
        const parts: any[] = Array.isArray(user?.content) ? user.content : [];
        const split = parts.findIndex((p) => p.type === 'text' && /Reference stills/.test(p.text));
        const images = (list: any[]) => list.filter((p) => p.type === 'image_url' && /^data:image\/png;base64,/.test(p.image_url?.url ?? '') && pngSize(Buffer.from(p.image_url.url.split(',')[1], 'base64'))).length;
        const rf = b.response_format;
        fake.reviews.push({
          model: b.model, frames: images(split < 0 ? parts : parts.slice(0, split)), references: split < 0 ? 0 : images(parts.slice(split)),
          strictSchema: rf?.type === 'json_schema' && rf.json_schema?.strict === true && rf.json_schema?.schema?.properties?.findings !== undefined,
          prompt: String(parts[0]?.text ?? ''),
        });
        const content = s.review?.content ?? JSON.stringify({ findings: [] });
        return { json: { id: 'chatcmpl-1', object: 'chat.completion', model: b.model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content, refusal: null } }] } };
      }
      if (req.method === 'POST' && req.path === '/v1/images/generations') {
        const i = s.images ?? {};
        if (imagesRejected < (i.rejectFirst?.length ?? 0)) return i.rejectFirst![imagesRejected++]!;
        const b = req.body ?? {};
        if (!['1024x1024', '1536x1024', '1024x1536', 'auto'].includes(b.size)) fake.problems.push(`image size ${b.size} is not documented`);
        if (i.refuse) return { status: 400, json: { error: { message: i.refuse, type: 'image_generation_user_error', param: null, code: 'moderation_blocked' } } };
        fake.images.push({ model: b.model, prompt: b.prompt, size: b.size, n: b.n });
        return { json: i.answer ?? { created: 1764347090, data: [{ b64_json: media.png.toString('base64') }], usage: { total_tokens: 100 } } };
      }
      if (req.method === 'POST' && req.path === '/v1/videos') {
        if (rejected < (s.rejectFirst?.length ?? 0)) return s.rejectFirst![rejected++]!;
        const b = req.body ?? {};
        if (s.refuseSubmit) return { status: 400, json: { error: { ...s.refuseSubmit, type: 'invalid_request_error', param: 'prompt' } } };
        const image = Buffer.isBuffer(b.input_reference) ? pngSize(b.input_reference) : null;
        const size = String(b.size ?? '');
        if (!image || `${image.width}x${image.height}` !== size) fake.problems.push(`input_reference ${JSON.stringify(image)} does not match size ${size}`);
        if (!['4', '8', '12'].includes(String(b.seconds))) fake.problems.push(`seconds ${b.seconds} is not 4, 8 or 12`);
        fake.accepted.push({ model: b.model, prompt: b.prompt, seconds: b.seconds, size, image });
        const id = `video_${fake.accepted.length}`;
        videos.set(id, { polls: 0, seconds: String(b.seconds), size });
        return { json: { id, object: 'video', model: b.model, status: 'queued', progress: 0, created_at: 1764347090, seconds: b.seconds, size } };
      }
      const m = /^\/v1\/videos\/([^/]+)(\/content)?$/.exec(req.path.split('?')[0]!);
      const v = m ? videos.get(m[1]!) : undefined;
      if (!m || !v || req.method !== 'GET') return { status: 404, json: { error: { message: 'Video not found', type: 'invalid_request_error' } } };
      const done = !s.never && !(s.hold && held) && v.polls >= (s.polls ?? 2);
      if (m[2]) {
        if (!done || s.fail) return { status: 400, json: { error: { message: 'Video is not ready' } } };
        if (s.contentReply) return s.contentReply;
        return { headers: { 'content-type': 'video/mp4' }, bytes: s.garbage ? Buffer.from('<html>oops</html>') : await delivered(v) };
      }
      v.polls++;
      if (s.pollReply) return s.pollReply;
      const base = { id: m[1], object: 'video', model: 'sora-2', created_at: 1764347090, seconds: '4', size: '1280x720' };
      if (!done) return { json: { ...base, status: v.polls === 1 ? 'queued' : 'in_progress', progress: Math.min(90, v.polls * 20), error: null } };
      if (s.fail) return { json: { ...base, status: 'failed', progress: 100, error: s.fail } };
      return { json: { ...base, status: 'completed', progress: 100, completed_at: 1764347190, error: null } };
    }),
    { baseUrl: '', script, accepted: [], images: [], reviews: [], problems: [], release: () => { held = false; } },
  );
  fake.baseUrl = `${fake.origin}/v1`;
  return fake;
}
