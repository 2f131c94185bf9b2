/**
 * Which media providers generation uses, and how generation is tuned, from the environment.
 *
 *   LAVENDLY_PROVIDERS=local            the built-in ffmpeg providers for whatever is `local`
 *   LAVENDLY_IMAGE_MODEL / LAVENDLY_VIDEO_MODEL / LAVENDLY_REVIEW_MODEL = provider:model
 *                                       hosted models (src/config.ts reads them, src/providers
 *                                       builds them); the default `local` keeps the ffmpeg ones
 *   LAVENDLY_FAIL_SCENES=2              make the clip of scene 2 (1-based, as people count) fail
 *                                       permanently; a comma list for several scenes
 *   LAVENDLY_FAIL_IMAGE / _VIDEO / _REVIEW=<spec>
 *                                       any failure spec of src/media's parseFailureSpec, e.g.
 *                                       `scenes=1;kind=transient` (0-based scene indexes there),
 *                                       `first=2`, `always`
 *   LAVENDLY_PROVIDER_LATENCY_MS=3000   wait this long before each image and clip, as a remote
 *                                       provider would (demos of polling, crash tests)
 *   LAVENDLY_CLIP_SHORT_SIDE=360        clip size: the short side in pixels (16:9 -> 640x360)
 *   LAVENDLY_GENERATION_MAX_ATTEMPTS=3  runs of a scene's job before it fails for good
 *   LAVENDLY_GENERATION_HOLD_S=86400    how long a scene's credit reservation may stay open
 *
 * Failures are only ever configured here, explicitly; no prompt text triggers one.
 */
import {
  createLocalProviders, parseFailureSpec,
  type FailureConfig, type GenerateClipRequest, type GenerateImageRequest, type GeneratedClip, type GeneratedImage,
  type ImageToVideoProvider, type MediaProviders, type TextToImageProvider,
} from '../media/index.js';
import type { ModelsConfig } from '../config.js';
import { lowBalanceThreshold } from '../webhooks/balance.js';
import { remoteImageProvider, remoteReviewer, remoteVideoProvider, type ProviderWiring, type WiredModel } from '../providers/index.js';
import { observedProviders } from '../telemetry/providers.js';
import { pricesFromEnv, type PriceTable } from './prices.js';

export interface GenerationSettings {
  prices: PriceTable;
  /** The default video model (`local`, `runway:gen4_turbo`): what a workflow without a choice uses. */
  model: string;
  /** Every wired video model a workflow may choose; each has a price. */
  videoModels: string[];
  /** Short side of generated clips in pixels (even). */
  clipShortSide: number;
  /** Runs of a scene's job before the scene fails for good (a crash counts as a run). */
  maxAttempts: number;
  /** Seconds a scene's reservation may stay open before the ledger releases it. */
  holdS: number;
  /** Below this many available credits an account hears `balance.low` (LAVENDLY_LOW_BALANCE_THRESHOLD). */
  lowBalanceThreshold: number;
}

/** Test and demo knobs of the built-in providers: injected failures and an artificial latency. */
export interface ProviderOptions {
  failures: { image?: FailureConfig; video?: FailureConfig; review?: FailureConfig };
  latencyMs: number;
}

/** Everything generation reads from the environment (`config.generation`). */
export interface GenerationConfig {
  settings: GenerationSettings;
  providers: ProviderOptions;
}

export function generationConfigFromEnv(env: NodeJS.ProcessEnv, models: ModelsConfig): GenerationConfig {
  return { settings: generationSettingsFromEnv(env, models), providers: providerOptionsFromEnv(env) };
}

export interface GenerationProviders {
  providers: MediaProviders;
  /** Every wired model with its capabilities, for get_status. */
  models: WiredModel[];
  /** What get_status reports. */
  wiring: ProviderWiring;
  /** Human-readable notes on configured failures and latency (logged at start). */
  notes: string[];
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${raw})`);
  return n;
}

function providerKind(env: NodeJS.ProcessEnv): 'local' {
  const kind = (env.LAVENDLY_PROVIDERS ?? 'local').trim() || 'local';
  if (kind !== 'local') throw new Error(`LAVENDLY_PROVIDERS: unknown provider set '${kind}' (available: local)`);
  return kind;
}

function generationSettingsFromEnv(env: NodeJS.ProcessEnv, models: ModelsConfig): GenerationSettings {
  const shortSide = positiveInt(env, 'LAVENDLY_CLIP_SHORT_SIDE', 360, 16);
  providerKind(env);
  const prices = pricesFromEnv(env);
  const videoModels = models.video.map((v) => v.id);
  // A paying user must never be charged another model's price: every wired model needs its own.
  const unpriced = videoModels.filter((m) => !prices.video[m]);
  if (unpriced.length) throw new Error(`LAVENDLY_PRICES has no video price for ${unpriced.join(', ')}; add {"video":{"${unpriced[0]}":{"credits":N,"per_s":S}}}`);
  return {
    prices,
    model: videoModels[0]!,
    videoModels,
    clipShortSide: shortSide - (shortSide % 2),
    maxAttempts: positiveInt(env, 'LAVENDLY_GENERATION_MAX_ATTEMPTS', 3),
    holdS: positiveInt(env, 'LAVENDLY_GENERATION_HOLD_S', 86_400, 60),
    lowBalanceThreshold: lowBalanceThreshold(env),
  };
}

/** Clip size for a workflow's frame shape: e.g. 640x360 (16:9), 360x640 (9:16), 360x360 (1:1) at 360. */
export function clipSize(aspect: string, shortSide: number): { width: number; height: number } {
  const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
  const long = even((shortSide * 16) / 9);
  if (aspect === '9:16') return { width: even(shortSide), height: long };
  if (aspect === '1:1') return { width: even(shortSide), height: even(shortSide) };
  return { width: long, height: even(shortSide) };
}

function failureFromEnv(env: NodeJS.ProcessEnv, name: string): FailureConfig | undefined {
  const spec = env[name];
  if (!spec || !spec.trim()) return undefined;
  try {
    return parseFailureSpec(spec);
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
}

/** `LAVENDLY_FAIL_SCENES=2,3` (1-based) -> the video provider fails those scenes permanently. */
function failScenesFromEnv(env: NodeJS.ProcessEnv): FailureConfig | undefined {
  const raw = env.LAVENDLY_FAIL_SCENES;
  if (!raw || !raw.trim()) return undefined;
  const numbers = raw.split(',').map((s) => Number(s.trim()));
  if (!numbers.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`LAVENDLY_FAIL_SCENES must list scene numbers from 1 (got ${raw})`);
  }
  return {
    sceneIndexes: numbers.map((n) => n - 1),
    kind: 'permanent',
    message: 'The video provider is configured to fail this scene (LAVENDLY_FAIL_SCENES).',
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal!.reason); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Wraps a provider so that each call first waits `ms` (abortably), like a remote API would. */
class SlowImageProvider implements TextToImageProvider {
  constructor(private readonly inner: TextToImageProvider, private readonly ms: number) {}
  get name() { return this.inner.name; }
  async generateImage(req: GenerateImageRequest): Promise<GeneratedImage> {
    await sleep(this.ms, req.signal);
    return this.inner.generateImage(req);
  }
}

class SlowVideoProvider implements ImageToVideoProvider {
  constructor(private readonly inner: ImageToVideoProvider, private readonly ms: number) {}
  get name() { return this.inner.name; }
  async generateClip(req: GenerateClipRequest): Promise<GeneratedClip> {
    await sleep(this.ms, req.signal);
    return this.inner.generateClip(req);
  }
}

/** The providers generation (and review) run on, as configured by the environment. */
/** LAVENDLY_FAIL_SCENES / LAVENDLY_FAIL_IMAGE / _VIDEO / _REVIEW, LAVENDLY_PROVIDER_LATENCY_MS. */
function providerOptionsFromEnv(env: NodeJS.ProcessEnv): ProviderOptions {
  providerKind(env); // refuses an unknown LAVENDLY_PROVIDERS
  const video = failScenesFromEnv(env) ?? failureFromEnv(env, 'LAVENDLY_FAIL_VIDEO');
  return {
    failures: { image: failureFromEnv(env, 'LAVENDLY_FAIL_IMAGE'), video, review: failureFromEnv(env, 'LAVENDLY_FAIL_REVIEW') },
    latencyMs: positiveInt(env, 'LAVENDLY_PROVIDER_LATENCY_MS', 0, 0),
  };
}

export function createGenerationProviders(options: ProviderOptions, models: ModelsConfig): GenerationProviders {
  const failures = options.failures;
  const providers = createLocalProviders({ failures });
  const notes: string[] = [];
  for (const [what, f] of Object.entries(failures)) if (f) notes.push(`${what} provider configured to fail: ${JSON.stringify(f)}`);
  const latency = options.latencyMs;
  if (latency > 0) {
    providers.textToImage = new SlowImageProvider(providers.textToImage, latency);
    providers.imageToVideo = new SlowVideoProvider(providers.imageToVideo, latency);
    notes.push(`providers wait ${latency} ms before each image and clip`);
  }
  const wired = wireRemote(providers, models, notes);
  return { ...wired, providers: observedProviders(wired.providers) };
}

/** Puts the configured hosted models in place of the local providers they replace. */
function wireRemote(providers: MediaProviders, models: ModelsConfig, notes: string[]): GenerationProviders {
  const wired: WiredModel[] = [];
  const byModel = new Map<string, ImageToVideoProvider>();
  for (const [i, ref] of models.video.entries()) {
    if (ref.provider === 'local') {
      byModel.set('local', providers.imageToVideo);
      wired.push({ capability: 'image_to_video', id: 'local', provider: 'local', model: 'local', default: i === 0, durations_s: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], aspect_ratios: ['16:9', '9:16', '1:1'] });
      continue;
    }
    const { provider, capabilities } = remoteVideoProvider(ref, models);
    byModel.set(ref.id, provider);
    wired.push({ capability: 'image_to_video', id: ref.id, provider: ref.provider, model: ref.model, default: i === 0, durations_s: capabilities.durations_s, aspect_ratios: capabilities.aspect_ratios });
  }
  providers.imageToVideo = byModel.get(models.video[0]!.id)!;
  providers.videoByModel = byModel;
  if (models.image.provider !== 'local') providers.textToImage = remoteImageProvider(models.image, models);
  // The signal rubric always runs; a vision model adds its findings to it (src/review).
  if (models.review.provider !== 'local') providers.vision = remoteReviewer(models.review, models);
  const one = (capability: WiredModel['capability'], ref: ModelsConfig['image']): WiredModel =>
    ({ capability, id: ref.id, provider: ref.provider, model: ref.model, default: true });
  wired.unshift(one('text_to_image', models.image));
  wired.push(one('vision_review', models.review));
  const wiring: ProviderWiring = { text_to_image: models.image.id, image_to_video: models.video[0]!.id, vision_review: models.review.id };
  return { providers, models: wired, wiring, notes };
}
