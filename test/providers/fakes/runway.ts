/**
 * A fake of Runway's API as documented: `POST /v1/image_to_video` and `POST /v1/text_to_image`
 * (JSON, `Authorization: Bearer`, `X-Runway-Version: 2024-11-06`) answering {id}, `GET
 * /v1/tasks/{id}` (PENDING -> RUNNING -> SUCCEEDED with `output` URLs, or FAILED with `failure`
 * and `failureCode`), and the output files on its own origin (fetched without our key).
 */
import { fakeClip, fakeMedia, pngSize } from './media.js';
import { startFake, type FakeServer, type Reply } from './server.js';

export const RUNWAY_SECRET = 'key_runway_test_fedcba9876543210';

export interface RunwayScript {
  rejectFirst?: Reply[];
  polls?: number;
  /** The task fails with this failure code and text. */
  fail?: { failureCode: unknown; failure: unknown };
  hold?: boolean;
  never?: boolean;
  garbage?: boolean;
  /** Output URL to hand out instead of one on the fake's origin. */
  outputUrl?: string;
  /** The output files on the fake's origin answer this instead (a redirect, ...). */
  fileReply?: Reply;
  /** The first task polls answer 503. */
  flakyPolls?: number;
  /** Every poll answers this instead (a misbehaving provider: `null`, a list, ...). */
  pollReply?: Reply;
}

export interface FakeRunway extends FakeServer {
  script: RunwayScript;
  accepted: { endpoint: string; model: string; promptText: string; ratio: string; duration?: number; image: { width: number; height: number } | null }[];
  problems: string[];
  release(): void;
}

const VIDEO_RATIOS = ['1280:720', '720:1280', '1104:832', '832:1104', '960:960', '1584:672', '1280:768', '768:1280'];

export async function startFakeRunway(script: RunwayScript = {}): Promise<FakeRunway> {
  const media = await fakeMedia();
  const tasks = new Map<string, { polls: number; kind: 'video' | 'image'; duration?: number; ratio?: string }>();
  let rejected = 0;
  let flaky = 0;
  let held = true;
  const fake: FakeRunway = Object.assign(
    await startFake(async (req) => {
      const file = /^\/files\/(task_\d+)\.(mp4|png)$/.exec(req.path);
      if (file) {
        if (req.headers.authorization) fake.problems.push(`our key was sent to the output URL ${req.path}`);
        if (fake.script.fileReply) return fake.script.fileReply;
        if (fake.script.garbage) return { bytes: Buffer.from('not media at all') };
        if (file[2] === 'png') return { bytes: media.png };
        // The clip as asked, without sound (Runway's clips have none).
        const t = tasks.get(file[1]!);
        const [w, h] = String(t?.ratio ?? '1280:720').split(':').map(Number);
        return { bytes: await fakeClip(t?.duration === 10 ? 10 : 5, false, w || 1280, h || 720) };
      }
      if (req.headers.authorization !== `Bearer ${RUNWAY_SECRET}`) {
        fake.problems.push(`bad auth on ${req.method} ${req.path}`);
        return { status: 401, json: { error: 'Invalid API key' } };
      }
      if (req.headers['x-runway-version'] !== '2024-11-06') {
        fake.problems.push(`X-Runway-Version was ${req.headers['x-runway-version']}`);
        return { status: 400, json: { error: 'API version header is missing or invalid' } };
      }
      const s = fake.script;
      const endpoint = req.path === '/v1/image_to_video' ? 'image_to_video' : req.path === '/v1/text_to_image' ? 'text_to_image' : null;
      if (req.method === 'POST' && endpoint) {
        if (rejected < (s.rejectFirst?.length ?? 0)) return s.rejectFirst![rejected++]!;
        const b = req.body ?? {};
        let image = null;
        if (endpoint === 'image_to_video') {
          const m = /^data:image\/png;base64,(.+)$/.exec(String(b.promptImage ?? ''));
          image = m ? pngSize(Buffer.from(m[1]!, 'base64')) : null;
          if (!VIDEO_RATIOS.includes(b.ratio)) fake.problems.push(`ratio ${b.ratio} is not a documented video ratio`);
          if (!image || `${image.width}:${image.height}` !== b.ratio) fake.problems.push(`promptImage ${JSON.stringify(image)} is not ${b.ratio}`);
          if (b.duration !== 5 && b.duration !== 10) fake.problems.push(`duration ${b.duration} is not 5 or 10`);
        }
        if (typeof b.promptText !== 'string' || !b.promptText) fake.problems.push('promptText missing');
        fake.accepted.push({ endpoint, model: b.model, promptText: b.promptText, ratio: b.ratio, duration: b.duration, image });
        const id = `task_${fake.accepted.length}`;
        tasks.set(id, { polls: 0, kind: endpoint === 'image_to_video' ? 'video' : 'image', duration: b.duration, ratio: b.ratio });
        return { json: { id } };
      }
      const t = /^\/v1\/tasks\/([^/]+)$/.exec(req.path);
      const task = t && req.method === 'GET' ? tasks.get(t[1]!) : undefined;
      if (!task) return { status: 404, json: { error: 'Task not found' } };
      if (flaky < (s.flakyPolls ?? 0)) {
        flaky++;
        return { status: 503, json: { error: 'Service unavailable' } };
      }
      task.polls++;
      if (s.pollReply) return s.pollReply;
      const base = { id: t![1], createdAt: '2026-12-06T04:00:00.000Z' };
      const done = !s.never && !(s.hold && held) && task.polls > (s.polls ?? 2);
      if (!done) return { json: { ...base, status: task.polls === 1 ? 'PENDING' : 'RUNNING', progress: 0.5 } };
      if (s.fail) return { json: { ...base, status: 'FAILED', ...s.fail } };
      const output = s.outputUrl ?? `${fake.origin}/files/${t![1]}.${task.kind === 'video' ? 'mp4' : 'png'}`;
      return { json: { ...base, status: 'SUCCEEDED', output: [output] } };
    }),
    { script, accepted: [], problems: [], release: () => { held = false; } },
  );
  return fake;
}
