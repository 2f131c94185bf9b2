/**
 * A vision reviewer over an OpenAI-compatible chat-completions API (OpenAI, or a self-hosted
 * server speaking the same protocol): frames sampled from the clip with ffmpeg, plus stills of
 * the workflow's other scenes, are sent as images with the rubric the product promises, and the
 * answer is constrained by a JSON schema (`response_format: json_schema`, strict).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  extractFrame, probeMedia, withTempDir,
  type ReviewFailure, type ReviewRequest, type VisionReviewProvider,
} from '../media/index.js';
import { ProviderClient } from './http.js';
import type { RemoteSettings } from './types.js';
import { monotonicNow } from '../db/cluster-time.js';

/** The checks a vision model is asked for; each becomes a `failures[].check` of quality_check. */
const VISION_CHECKS = ['waxy_skin', 'malformed_anatomy', 'warped_text', 'flicker', 'identity_drift'] as const;

const RUBRIC = [
  'You review frames of one AI-generated video clip for the tells of AI video. Report only defects you can see:',
  '- waxy_skin: waxy, plastic or airbrushed skin;',
  '- malformed_anatomy: malformed hands, fingers or limbs (extra, missing, fused, bent wrongly);',
  '- warped_text: warped, garbled or melting text or signs;',
  '- flicker: objects or details that appear, vanish or change between consecutive frames;',
  '- identity_drift: a character that looks like a different person or creature than in the reference stills of the other scenes.',
  'Frames are numbered from 0 in the order given. An empty list means the clip passes.',
].join('\n');

const REVIEW_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['findings'],
  properties: {
    findings: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['check', 'frame', 'message'],
        properties: {
          check: { type: 'string', enum: [...VISION_CHECKS] },
          frame: { type: 'integer', minimum: 0 },
          message: { type: 'string' },
        },
      },
    },
  },
} as const;

interface ChatAnswer {
  choices?: ({ message?: { content?: unknown; refusal?: unknown } | null } | null)[];
}

export class ChatVisionReviewer implements VisionReviewProvider {
  readonly name: string;
  private readonly client: ProviderClient;

  constructor(private readonly model: string, private readonly s: RemoteSettings & { apiKey: string; baseUrl: string; frames?: number }) {
    this.name = `openai:${model}`;
    this.client = new ProviderClient({ provider: this.name, headers: { authorization: `Bearer ${s.apiKey}` }, secrets: [s.apiKey], timeoutMs: 120_000, ...s.http });
  }

  async review(req: ReviewRequest): Promise<{ failures: ReviewFailure[] }> {
    const probe = await probeMedia(req.videoPath, { signal: req.signal });
    const count = this.s.frames ?? 4;
    // Evenly inside the clip: never the very first or last frame (fades, encoder edges).
    const times = Array.from({ length: count }, (_, i) => (probe.durationS * (i + 0.5)) / count);
    return withTempDir(async (dir) => {
      const frames: string[] = [];
      for (const [i, at] of times.entries()) {
        const out = path.join(dir, `frame-${i}.png`);
        await extractFrame({ inputPath: req.videoPath, atS: at, outPath: out, signal: req.signal });
        frames.push(await dataUri(out));
      }
      const refs = await Promise.all((req.referenceFrames ?? []).slice(0, 3).map(dataUri));
      const content: unknown[] = [{ type: 'text', text: `The clip was asked to show: ${req.prompt ?? '(no prompt given)'}\nFrames 0-${count - 1} at ${times.map((t) => t.toFixed(2)).join(', ')} s follow.` }];
      for (const url of frames) content.push({ type: 'image_url', image_url: { url, detail: 'low' } });
      if (refs.length) {
        content.push({ type: 'text', text: 'Reference stills of the same story\'s other scenes (not frames of this clip; for identity_drift only):' });
        for (const url of refs) content.push({ type: 'image_url', image_url: { url, detail: 'low' } });
      }
      const answer = await this.client.json<ChatAnswer>(`${this.s.baseUrl}/chat/completions`, {
        method: 'POST', signal: req.signal, deadlineAt: monotonicNow() + this.s.deadlineS * 1000,
        body: {
          model: this.model,
          messages: [{ role: 'system', content: RUBRIC }, { role: 'user', content }],
          response_format: { type: 'json_schema', json_schema: { name: 'clip_review', strict: true, schema: REVIEW_SCHEMA } },
        },
      });
      return { failures: this.findings(answer, times) };
    });
  }

  private findings(answer: ChatAnswer, times: number[]): ReviewFailure[] {
    const first = Array.isArray(answer.choices) ? answer.choices[0] : undefined;
    const message = first && typeof first === 'object' && first.message && typeof first.message === 'object' ? first.message : undefined;
    if (typeof message?.refusal === 'string' && message.refusal) throw this.client.fail(`${this.name} declined to review: ${message.refusal}`, { transient: false, retryable: true, code: 'provider_rejected' });
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof message?.content === 'string' ? message.content : '');
    } catch {
      throw this.client.fail(`${this.name} answered a review that is not JSON`, { transient: false, retryable: true, code: 'provider_bad_response' });
    }
    // The schema is a request, not a guarantee: `null`, a list or a bare value is nonsense too.
    const findings = parsed && typeof parsed === 'object' ? (parsed as { findings?: unknown }).findings : undefined;
    if (!Array.isArray(findings)) throw this.client.fail(`${this.name} answered a review without findings`, { transient: false, retryable: true, code: 'provider_bad_response' });
    const out: ReviewFailure[] = [];
    for (const f of findings as ({ check?: unknown; frame?: unknown; message?: unknown } | null)[]) {
      if (!f || typeof f !== 'object' || !VISION_CHECKS.includes(f.check as never)) continue; // outside the schema: ignored, never invented
      const frame = Number.isInteger(f.frame) ? Math.min(times.length - 1, Math.max(0, f.frame as number)) : 0;
      // A message that is not text would show as "[object Object]": the check's name says more.
      const said = typeof f.message === 'string' && f.message.trim() ? f.message : String(f.check).replace(/_/g, ' ');
      out.push({ check: f.check as string, message: said.slice(0, 300), at_s: Math.round(times[frame]! * 100) / 100 });
    }
    return out;
  }
}

async function dataUri(file: string): Promise<string> {
  return `data:image/png;base64,${(await fs.readFile(file)).toString('base64')}`;
}
