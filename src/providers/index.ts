/**
 * Hosted model adapters behind the media provider interfaces, built from the configured
 * `provider:model` names (src/config.ts). `local` names are not built here: they are the media
 * library's ffmpeg providers.
 */
import type { ModelRef, ModelsConfig } from '../config.js';
import type { ImageToVideoProvider, TextToImageProvider, VisionReviewProvider } from '../media/index.js';
import { OpenAIImageProvider } from './openai-image.js';
import { OpenAIVideoProvider, soraCapabilities } from './openai-video.js';
import { ChatVisionReviewer } from './vision.js';
import { RunwayImageProvider, RunwayVideoProvider, runwayCapabilities, type RunwaySettings } from './runway.js';
import type { RemoteSettings, VideoCapabilities } from './types.js';

export type { VideoCapabilities } from './types.js';

/** One model as get_status lists it. */
export interface WiredModel {
  capability: 'text_to_image' | 'image_to_video' | 'vision_review';
  id: string;
  provider: string;
  model: string;
  default: boolean;
  durations_s?: number[];
  aspect_ratios?: string[];
}

/**
 * Which implementation backs each capability ('local' = the built-in ffmpeg providers), as
 * get_status reports it. A capability nobody wired is reported as 'none'.
 */
export interface ProviderWiring {
  text_to_image?: string;
  image_to_video?: string;
  vision_review?: string;
  /** Platforms that can be published to ('youtube', 'tiktok', 'local'). */
  publishers?: string[];
  /** Every wired model with its capabilities (src/providers). */
  models?: WiredModel[];
}

const MAX_CLIP_BYTES = 512 * 1024 * 1024;
const MAX_IMAGE_BYTES = 50 * 1024 * 1024;

function settings(models: ModelsConfig, maxBytes: number): RemoteSettings {
  return { deadlineS: models.deadlineS, pollMs: models.pollMs, maxBytes, http: models.http };
}

export function remoteVideoProvider(ref: ModelRef, models: ModelsConfig): { provider: ImageToVideoProvider; capabilities: VideoCapabilities } {
  const s = settings(models, MAX_CLIP_BYTES);
  switch (ref.provider) {
    case 'openai':
      return {
        provider: new OpenAIVideoProvider(ref.model, { ...s, apiKey: models.openai.apiKey!, baseUrl: models.openai.baseUrl }),
        capabilities: soraCapabilities(),
      };
    case 'runway':
      return { provider: new RunwayVideoProvider(ref.model, runway(models, MAX_CLIP_BYTES)), capabilities: runwayCapabilities(ref.model) };
    default:
      throw new Error(`${ref.id}: ${ref.provider} has no image-to-video adapter`);
  }
}

export function remoteImageProvider(ref: ModelRef, models: ModelsConfig): TextToImageProvider {
  const s = settings(models, MAX_IMAGE_BYTES);
  switch (ref.provider) {
    case 'openai':
      return new OpenAIImageProvider(ref.model, { ...s, apiKey: models.openai.apiKey!, baseUrl: models.openai.baseUrl });
    case 'runway':
      return new RunwayImageProvider(ref.model, runway(models, MAX_IMAGE_BYTES));
    default:
      throw new Error(`${ref.id}: ${ref.provider} has no text-to-image adapter`);
  }
}

export function remoteReviewer(ref: ModelRef, models: ModelsConfig): VisionReviewProvider {
  if (ref.provider !== 'openai') throw new Error(`${ref.id}: vision review needs an OpenAI-compatible chat API (openai:<model>, with OPENAI_BASE_URL for a self-hosted server)`);
  return new ChatVisionReviewer(ref.model, { ...settings(models, MAX_IMAGE_BYTES), apiKey: models.openai.apiKey!, baseUrl: models.openai.baseUrl });
}

function runway(models: ModelsConfig, maxBytes: number): RunwaySettings {
  const r = models.runway;
  return { ...settings(models, maxBytes), apiSecret: r.apiSecret!, baseUrl: r.baseUrl, version: r.version, downloadHosts: r.downloadHosts };
}
