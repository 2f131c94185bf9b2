/**
 * Runway's API (version header `X-Runway-Version: 2024-11-06`, `Bearer` secret):
 * `POST /v1/image_to_video` {model, promptImage (a data URI), promptText, ratio, duration} and
 * `POST /v1/text_to_image` {model, promptText, ratio}, both answering {id}; `GET /v1/tasks/{id}`
 * until SUCCEEDED (`output`: URLs) or FAILED (`failure`, `failureCode`; `SAFETY.*` is content
 * moderation, which must not be retried). Runway's clips have no sound.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  conformClip, conformImage, withTempDir,
  type GenerateClipRequest, type GeneratedClip, type GenerateImageRequest, type GeneratedImage,
  type ImageToVideoProvider, type TextToImageProvider,
} from '../media/index.js';
import { acceptClip, acceptImage } from './deliveries.js';
import { downloadDelivery } from './download.js';
import { ProviderClient } from './http.js';
import { badDelivery, POLICY_WORDS, runRemoteTask } from './task.js';
import type { RemoteSettings, VideoCapabilities } from './types.js';

export interface RunwaySettings extends RemoteSettings {
  apiSecret: string;
  baseUrl: string;
  version: string;
  downloadHosts: string[];
}

interface Task {
  id?: string;
  status?: string;
  output?: unknown;
  failure?: unknown;
  failureCode?: unknown;
}

/** Output ratios per frame shape, as each model documents them. */
const RATIOS: Record<string, Record<string, string>> = {
  gen4_turbo: { '16:9': '1280:720', '9:16': '720:1280', '1:1': '960:960' },
  gen3a_turbo: { '16:9': '1280:768', '9:16': '768:1280' },
  gen4_image: { '16:9': '1920:1080', '9:16': '1080:1920', '1:1': '1024:1024' },
};

export function runwayCapabilities(model: string): VideoCapabilities {
  return { durations_s: [5, 10], aspect_ratios: Object.keys(RATIOS[model] ?? RATIOS.gen4_turbo!) };
}

function shapeOf(width: number, height: number): string {
  return width === height ? '1:1' : height > width ? '9:16' : '16:9';
}

function client(name: string, s: RunwaySettings): ProviderClient {
  return new ProviderClient({
    provider: name,
    headers: { authorization: `Bearer ${s.apiSecret}`, 'x-runway-version': s.version },
    secrets: [s.apiSecret],
    ...s.http,
  });
}

/** Submits one Runway task and waits for its first output URL. */
async function runTask(c: ProviderClient, s: RunwaySettings, req: GenerateImageRequest | GenerateClipRequest, what: string, endpoint: string, body: () => Promise<Record<string, unknown>>): Promise<{ url: string; deadlineAt: number }> {
  const { result, deadlineAt } = await runRemoteTask({
    client: c, memory: req, signal: req.signal, pollMs: s.pollMs, deadlineS: s.deadlineS, what,
    submit: async (deadlineAt) => {
      const task = await c.json<Task>(`${s.baseUrl}/v1/${endpoint}`, { method: 'POST', body: await body(), signal: req.signal, deadlineAt }).catch((err) => {
        const e = err as { status?: number; message?: string };
        if (e.status === 400 && POLICY_WORDS.test(e.message ?? '')) {
          throw c.fail(`${c.provider} refused ${what} on content grounds: ${e.message}`, { transient: false, retryable: false, code: 'content_policy' });
        }
        throw err;
      });
      return typeof task.id === 'string' ? task.id : '';
    },
    check: async (id, deadlineAt) => {
      const task = await c.json<Task>(`${s.baseUrl}/v1/tasks/${encodeURIComponent(id)}`, { signal: req.signal, deadlineAt });
      switch (task.status) {
        case 'PENDING': case 'THROTTLED': case 'RUNNING':
          return null;
        case 'SUCCEEDED': {
          const url = Array.isArray(task.output) ? task.output[0] : undefined;
          if (typeof url !== 'string') throw c.fail(`${c.provider} finished task ${id} without an output URL`, { transient: false, retryable: true, code: 'provider_bad_response' });
          return url;
        }
        case 'FAILED': case 'CANCELLED': {
          // Read defensively: a code that is not text (a number, null) must not become a TypeError.
          const code = typeof task.failureCode === 'string' ? task.failureCode : task.failureCode == null ? '' : JSON.stringify(task.failureCode);
          const refused = code.startsWith('SAFETY.');
          const said = typeof task.failure === 'string' && task.failure ? task.failure : null;
          const reason = `${said ?? (task.status === 'CANCELLED' ? 'the task was cancelled' : 'no reason given')}${code ? ` (${code.slice(0, 100)})` : ''}`;
          throw c.fail(`${c.provider} ${refused ? `refused ${what} on content grounds` : `failed ${what}`}: ${reason}`, {
            transient: false, retryable: !refused, code: refused ? 'content_policy' : 'provider_failed',
          });
        }
        default:
          throw c.fail(`${c.provider} answered an unknown task status '${String(task.status)}'`, { transient: false, retryable: true, code: 'provider_bad_response' });
      }
    },
  });
  return { url: result, deadlineAt };
}

export class RunwayVideoProvider implements ImageToVideoProvider {
  readonly name: string;
  private readonly c: ProviderClient;

  constructor(private readonly model: string, private readonly s: RunwaySettings) {
    this.name = `runway:${model}`;
    this.c = client(this.name, s);
  }

  async generateClip(req: GenerateClipRequest): Promise<GeneratedClip> {
    const ratio = (RATIOS[this.model] ?? RATIOS.gen4_turbo!)[shapeOf(req.width, req.height)] ?? '1280:720';
    const duration = req.durationS <= 5 ? 5 : 10;
    return withTempDir(async (dir) => {
      const { url, deadlineAt } = await runTask(this.c, this.s, req, 'the clip', 'image_to_video', async () => {
        // The still at the output ratio, inline as a data URI (no public URL of ours is needed).
        const still = path.join(dir, 'prompt.png');
        const [w, h] = ratio.split(':').map(Number) as [number, number];
        await conformImage({ inputPath: req.imagePath, outPath: still, width: w, height: h, signal: req.signal });
        const promptImage = `data:image/png;base64,${(await fs.readFile(still)).toString('base64')}`;
        return { model: this.model, promptImage, promptText: req.prompt.slice(0, 1000), ratio, duration };
      });
      const raw = path.join(dir, 'delivered.mp4');
      await downloadDelivery(url, { client: this.c, apiBase: this.s.baseUrl, hosts: this.s.downloadHosts, destPath: raw, maxBytes: this.s.maxBytes, signal: req.signal, deadlineAt });
      await conformClip({
        inputPath: raw, outPath: req.outPath, durationS: req.durationS, width: req.width, height: req.height, signal: req.signal,
        accept: (delivered) => acceptClip(this.c, delivered, req),
      })
        .catch((err) => { throw badDelivery(this.c, err); });
      return { path: req.outPath, durationS: req.durationS, width: req.width, height: req.height, hasAudio: true };
    });
  }
}

export class RunwayImageProvider implements TextToImageProvider {
  readonly name: string;
  private readonly c: ProviderClient;

  constructor(private readonly model: string, private readonly s: RunwaySettings) {
    this.name = `runway:${model}`;
    this.c = client(this.name, s);
  }

  async generateImage(req: GenerateImageRequest): Promise<GeneratedImage> {
    const ratio = (RATIOS[this.model] ?? RATIOS.gen4_image!)[shapeOf(req.width, req.height)] ?? '1920:1080';
    return withTempDir(async (dir) => {
      const { url, deadlineAt } = await runTask(this.c, this.s, req, 'the image', 'text_to_image', async () => ({ model: this.model, promptText: req.prompt.slice(0, 1000), ratio }));
      const raw = path.join(dir, 'delivered.img');
      await downloadDelivery(url, { client: this.c, apiBase: this.s.baseUrl, hosts: this.s.downloadHosts, destPath: raw, maxBytes: this.s.maxBytes, signal: req.signal, deadlineAt });
      await acceptImage(this.c, raw);
      await conformImage({ inputPath: raw, outPath: req.outPath, width: req.width, height: req.height, signal: req.signal })
        .catch((err) => { throw badDelivery(this.c, err); });
      return { path: req.outPath, width: req.width, height: req.height };
    });
  }
}
