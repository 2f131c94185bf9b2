/**
 * OpenAI's video API (Sora): `POST /videos` as multipart with the opening still as
 * `input_reference` (its size must equal the requested `size`), poll `GET /videos/{id}` until
 * `completed` or `failed`, then `GET /videos/{id}/content` for the MP4. Auth: `Bearer` key.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  conformClip, conformImage, withTempDir,
  type GenerateClipRequest, type GeneratedClip, type ImageToVideoProvider,
} from '../media/index.js';
import { acceptClip } from './deliveries.js';
import { downloadDelivery } from './download.js';
import { ProviderClient } from './http.js';
import { badDelivery, POLICY_WORDS, runRemoteTask } from './task.js';
import type { RemoteSettings, VideoCapabilities } from './types.js';

interface VideoObject {
  id?: string;
  status?: string;
  error?: { code?: unknown; message?: unknown } | null;
}

const SORA_SECONDS = [4, 8, 12];

export function soraCapabilities(): VideoCapabilities {
  // Both models are asked for 1280x720 or 720x1280 (sora-2-pro's larger sizes are not used).
  return { durations_s: SORA_SECONDS, aspect_ratios: ['16:9', '9:16'] };
}

/** The shortest supported length that covers the scene (the clip is cut to the scene after). */
function coveringSeconds(durationS: number, supported: number[]): number {
  return supported.find((s) => s >= durationS) ?? supported[supported.length - 1]!;
}

export class OpenAIVideoProvider implements ImageToVideoProvider {
  readonly name: string;
  private readonly client: ProviderClient;

  constructor(private readonly model: string, private readonly s: RemoteSettings & { apiKey: string; baseUrl: string }) {
    this.name = `openai:${model}`;
    this.client = new ProviderClient({ provider: this.name, headers: { authorization: `Bearer ${s.apiKey}` }, secrets: [s.apiKey], ...s.http });
  }

  async generateClip(req: GenerateClipRequest): Promise<GeneratedClip> {
    const portrait = req.height > req.width;
    const size = portrait ? '720x1280' : '1280x720';
    const seconds = coveringSeconds(req.durationS, SORA_SECONDS);
    const base = this.s.baseUrl;
    return withTempDir(async (dir) => {
      const { task, deadlineAt } = await runRemoteTask({
        client: this.client, memory: req, signal: req.signal, pollMs: this.s.pollMs, deadlineS: this.s.deadlineS, what: 'the clip',
        submit: async (deadlineAt) => {
          // The reference must have the video's exact size.
          const still = path.join(dir, 'reference.png');
          const [w, h] = size.split('x').map(Number) as [number, number];
          await conformImage({ inputPath: req.imagePath, outPath: still, width: w, height: h, signal: req.signal });
          const form = new FormData();
          form.append('model', this.model);
          form.append('prompt', req.prompt);
          form.append('seconds', String(seconds));
          form.append('size', size);
          form.append('input_reference', new Blob([await fs.readFile(still)], { type: 'image/png' }), 'reference.png');
          const video = await this.client.json<VideoObject>(`${base}/videos`, { method: 'POST', body: form, signal: req.signal, deadlineAt }).catch((err) => {
            throw this.policy(err);
          });
          return typeof video.id === 'string' ? video.id : '';
        },
        check: async (id, deadlineAt) => {
          const video = await this.client.json<VideoObject>(`${base}/videos/${encodeURIComponent(id)}`, { signal: req.signal, deadlineAt });
          if (video.status === 'completed') return true;
          if (video.status === 'failed') {
            const e = video.error && typeof video.error === 'object' ? video.error : {};
            const text = (v: unknown) => (typeof v === 'string' ? v : '');
            const reason = text(e.message) || text(e.code) || 'no reason given';
            const refused = POLICY_WORDS.test(`${text(e.code)} ${text(e.message)}`);
            throw this.client.fail(`${this.name} ${refused ? 'refused the clip on content grounds' : 'failed the clip'}: ${reason}`, {
              transient: false, retryable: !refused, code: refused ? 'content_policy' : 'provider_failed',
            });
          }
          if (video.status === 'queued' || video.status === 'in_progress') return null;
          throw this.client.fail(`${this.name} answered an unknown video status '${String(video.status)}'`, { transient: false, retryable: true, code: 'provider_bad_response' });
        },
      });
      const raw = path.join(dir, 'delivered.mp4');
      // OpenAI delivers from its API origin only: a redirect elsewhere is refused, never followed.
      await downloadDelivery(`${base}/videos/${encodeURIComponent(task.id)}/content`, {
        client: this.client, apiBase: base, hosts: [], authorised: true, destPath: raw, maxBytes: this.s.maxBytes, signal: req.signal, deadlineAt,
      });
      await conformClip({
        inputPath: raw, outPath: req.outPath, durationS: req.durationS, width: req.width, height: req.height, signal: req.signal,
        accept: (delivered) => acceptClip(this.client, delivered, req),
      })
        .catch((err) => { throw badDelivery(this.client, err); });
      return { path: req.outPath, durationS: req.durationS, width: req.width, height: req.height, hasAudio: true };
    });
  }

  /** A 400 whose error names moderation is a content refusal: not retryable, with OpenAI's words. */
  private policy(err: unknown): unknown {
    const e = err as { status?: number; body?: { error?: { code?: string; message?: string } } };
    const text = `${e.body?.error?.code ?? ''} ${e.body?.error?.message ?? ''}`;
    if (e.status === 400 && POLICY_WORDS.test(text)) {
      return this.client.fail(`${this.name} refused the clip on content grounds: ${e.body?.error?.message ?? e.body?.error?.code}`, { transient: false, retryable: false, code: 'content_policy' });
    }
    return err;
  }
}
