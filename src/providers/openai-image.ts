/**
 * OpenAI's Images API: `POST /images/generations` {model, prompt, size, n: 1}; gpt-image-1
 * answers the picture inline as `data[0].b64_json` (no task, no URL to fetch). A prompt the
 * safety system rejects answers 400 with `error.code` `moderation_blocked`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { conformImage, withTempDir, type GenerateImageRequest, type GeneratedImage, type TextToImageProvider } from '../media/index.js';
import { errorMessageOf, ProviderClient, ProviderHttpError } from './http.js';
import { acceptImage } from './deliveries.js';
import { badDelivery, POLICY_WORDS } from './task.js';
import type { RemoteSettings } from './types.js';
import { monotonicNow } from '../db/cluster-time.js';

/** The picture arrives inline as base64: a 1536x1024 PNG is a few MB, so up to 12 MB of picture is read. */
export const MAX_IMAGE_JSON_BYTES = 16 * 1024 * 1024;

interface ImagesResponse {
  data?: { b64_json?: string }[];
}

export class OpenAIImageProvider implements TextToImageProvider {
  readonly name: string;
  private readonly client: ProviderClient;

  constructor(private readonly model: string, private readonly s: RemoteSettings & { apiKey: string; baseUrl: string }) {
    this.name = `openai:${model}`;
    // One call that may take a minute; its own timeout rather than polling.
    this.client = new ProviderClient({ provider: this.name, headers: { authorization: `Bearer ${s.apiKey}` }, secrets: [s.apiKey], timeoutMs: 180_000, ...s.http });
  }

  async generateImage(req: GenerateImageRequest): Promise<GeneratedImage> {
    const size = req.width === req.height ? '1024x1024' : req.height > req.width ? '1024x1536' : '1536x1024';
    const answer = await this.client
      .json<ImagesResponse>(`${this.s.baseUrl}/images/generations`, {
        method: 'POST', body: { model: this.model, prompt: req.prompt, size, n: 1 }, signal: req.signal, deadlineAt: monotonicNow() + this.s.deadlineS * 1000,
        maxJsonBytes: MAX_IMAGE_JSON_BYTES,
      })
      .catch((err) => {
        if (err instanceof ProviderHttpError && err.status === 400 && POLICY_WORDS.test(`${(err.body as { error?: { code?: string } })?.error?.code ?? ''} ${err.message}`)) {
          throw this.client.fail(`${this.name} refused the image on content grounds: ${errorMessageOf(err.body) ?? 'no reason given'}`, { transient: false, retryable: false, code: 'content_policy' });
        }
        throw err;
      });
    const b64 = answer.data?.[0]?.b64_json;
    if (typeof b64 !== 'string' || !b64) {
      throw this.client.fail(`${this.name} answered no image (data[0].b64_json missing)`, { transient: false, retryable: true, code: 'provider_bad_response' });
    }
    if (b64.length > (this.s.maxBytes * 4) / 3 + 4) {
      throw this.client.fail(`${this.name} answered an image over ${this.s.maxBytes} bytes`, { transient: false, retryable: true, code: 'provider_bad_response' });
    }
    return withTempDir(async (dir) => {
      const raw = path.join(dir, 'delivered.img');
      await fs.writeFile(raw, Buffer.from(b64, 'base64'));
      await acceptImage(this.client, raw);
      await conformImage({ inputPath: raw, outPath: req.outPath, width: req.width, height: req.height, signal: req.signal })
        .catch((err) => { throw badDelivery(this.client, err); });
      return { path: req.outPath, width: req.width, height: req.height };
    });
  }
}
