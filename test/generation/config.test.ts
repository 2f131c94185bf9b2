/** Prices, clip sizes, provider configuration and phase sentences (no database). */
import { describe, expect, it } from 'vitest';
import {
  clipSize, createGenerationProviders, DEFAULT_PRICES, mergePrices, phaseOf, pricesFromEnv,
  sceneLabel, scenePrice, type GenerationRow, type GenerationSceneRow,
} from '../../src/generation/index.js';
import { loadConfig } from '../../src/config.js';
import { FailingProvider } from '../../src/media/index.js';
import { unobserved } from '../../src/telemetry/providers.js';

/** Generation's settings and providers as the config loader reads them from `env`. */
const generationSettingsFromEnv = (env: NodeJS.ProcessEnv) => loadConfig(env).generation.settings;
function providersFromEnv(env: NodeJS.ProcessEnv) {
  const config = loadConfig(env);
  return createGenerationProviders(config.generation.providers, config.models);
}

describe('prices', () => {
  it('a 5 s scene costs a still and one block of clip; longer clips pay per started block', () => {
    const p = (duration_s: number, drawsImage = true, model = 'local') => scenePrice(DEFAULT_PRICES, { duration_s, drawsImage, model });
    expect(p(5)).toBe(10);
    expect(p(1)).toBe(10);
    expect(p(6)).toBe(18);
    expect(p(10)).toBe(18);
    expect(p(5, false)).toBe(8); // starts from an imported image: no still drawn
    expect(p(5, true, 'unknown-model')).toBe(10); // priced as the default model
    // The seed's sample flow: three 5 s scenes fit well under its 50-credit threshold.
    expect(3 * p(5)).toBe(30);
  });

  it('LAVENDLY_PRICES overrides the table and is validated', () => {
    const t = pricesFromEnv({ LAVENDLY_PRICES: '{"image":1,"video":{"local":{"credits":2,"per_s":5},"fancy":{"credits":20,"per_s":4}}}' });
    expect(scenePrice(t, { duration_s: 5, drawsImage: true, model: 'local' })).toBe(3);
    expect(scenePrice(t, { duration_s: 5, drawsImage: true, model: 'fancy' })).toBe(41);
    expect(pricesFromEnv({})).toEqual(DEFAULT_PRICES);
    expect(() => pricesFromEnv({ LAVENDLY_PRICES: '{oops' })).toThrow(/not valid JSON/);
    expect(() => pricesFromEnv({ LAVENDLY_PRICES: '{"image":-1}' })).toThrow(/image/);
    expect(() => pricesFromEnv({ LAVENDLY_PRICES: '{"colour":1}' })).toThrow(/price table/);
    expect(() => mergePrices({ default_model: 'nope' })).toThrow(/default_model 'nope'/);
    // Never free: a zero table still charges one credit, so every scene goes through the ledger.
    expect(scenePrice(mergePrices({ image: 0, video: { local: { credits: 0, per_s: 5 } } }), { duration_s: 5, drawsImage: true, model: 'local' })).toBe(1);
  });
});

describe('settings and providers', () => {
  it('clip size follows the aspect ratio, modest by default', () => {
    expect(clipSize('16:9', 360)).toEqual({ width: 640, height: 360 });
    expect(clipSize('9:16', 360)).toEqual({ width: 360, height: 640 });
    expect(clipSize('1:1', 360)).toEqual({ width: 360, height: 360 });
    expect(clipSize('16:9', 180)).toEqual({ width: 320, height: 180 });
    expect(generationSettingsFromEnv({})).toMatchObject({ model: 'local', clipShortSide: 360, maxAttempts: 3, holdS: 86_400 });
    expect(generationSettingsFromEnv({ LAVENDLY_CLIP_SHORT_SIDE: '181' }).clipShortSide).toBe(180);
    expect(() => generationSettingsFromEnv({ LAVENDLY_GENERATION_MAX_ATTEMPTS: '0' })).toThrow(/MAX_ATTEMPTS/);
    expect(() => generationSettingsFromEnv({ LAVENDLY_PROVIDERS: 'openai' })).toThrow(/unknown provider set 'openai'/);
  });

  it('failures are configured explicitly, never by prompts', () => {
    const plain = providersFromEnv({});
    expect(plain.wiring).toEqual({ text_to_image: 'local', image_to_video: 'local', vision_review: 'local' });
    expect(unobserved(plain.providers.imageToVideo)).not.toBeInstanceOf(FailingProvider);
    expect(plain.notes).toEqual([]);

    const scenes = providersFromEnv({ LAVENDLY_FAIL_SCENES: '2,3' });
    const video = unobserved(scenes.providers.imageToVideo) as FailingProvider;
    expect(video).toBeInstanceOf(FailingProvider);
    expect(video.config).toMatchObject({ sceneIndexes: [1, 2], kind: 'permanent' });
    expect(video.selects(1, { sceneIndex: 0 })).toBe(false);
    expect(video.selects(1, { sceneIndex: 1 })).toBe(true);

    const image = unobserved(providersFromEnv({ LAVENDLY_FAIL_IMAGE: 'first=2;kind=transient' }).providers.textToImage) as FailingProvider;
    expect(image.config).toMatchObject({ firstCalls: 2, kind: 'transient' });
    expect(() => providersFromEnv({ LAVENDLY_FAIL_SCENES: '0' })).toThrow(/from 1/);
    expect(() => providersFromEnv({ LAVENDLY_FAIL_VIDEO: 'sometimes' })).toThrow(/LAVENDLY_FAIL_VIDEO/);
    expect(providersFromEnv({ LAVENDLY_PROVIDER_LATENCY_MS: '10' }).notes).toEqual(['providers wait 10 ms before each image and clip']);
  });
});

describe('phase sentences', () => {
  const gen = (status: GenerationRow['status']): GenerationRow => ({
    id: 'gen_1', account_id: 'acc_1', workflow_id: 'wf_1', status, scene_count: 3, credits_reserved: 30, credits_charged: 0,
    reroll_hint: null, created_at: '', updated_at: '', started_at: null, finished_at: null,
  });
  const scene = (position: number, status: GenerationSceneRow['status'], extra: Partial<GenerationSceneRow> = {}): GenerationSceneRow => ({
    generation_id: 'gen_1', node_id: `nd_${position}`, workflow_id: 'wf_1', account_id: 'acc_1', position,
    prompt: ['A sleepy fox finds an old map.', 'The map glowing', 'The fox steps through a door of light'][position]!,
    image_prompt: null, image_asset_id: null, duration_s: 5, width: 640, height: 360, model: 'local', credits: 10,
    reservation_id: `rsv_${position}`, job_id: null, status, step: null, image_key: null, clip_key: null, clip_duration_s: null,
    credits_charged: status === 'generated' ? 10 : 0, error: null, provider_task: null, created_at: '', updated_at: '', started_at: null, finished_at: null,
    ...extra,
  });

  it('reads aloud what is happening', () => {
    expect(phaseOf(null, [], 3)).toBe('Nothing has been generated for this workflow yet.');
    expect(phaseOf(gen('queued'), [scene(0, 'queued'), scene(1, 'queued'), scene(2, 'queued')], 3)).toBe('Waiting to start: 3 scenes queued for generation.');
    expect(phaseOf(gen('running'), [scene(0, 'generated'), scene(1, 'running', { step: 'video' }), scene(2, 'queued')], 3))
      .toBe('1 of 3 ready. Generating scene 2 of 3: animating the map glowing.');
    expect(phaseOf(gen('running'), [scene(0, 'running', { step: 'image' }), scene(1, 'queued'), scene(2, 'queued')], 3))
      .toBe('Generating scene 1 of 3: drawing the opening image of a sleepy fox finds an old map.');
    expect(phaseOf(gen('succeeded'), [scene(0, 'generated'), scene(1, 'generated'), scene(2, 'generated')], 3))
      .toBe('Done: all 3 scenes are generated, for 30 credits in total.');
    expect(phaseOf(gen('failed'), [
      scene(0, 'generated'), scene(1, 'failed', { error: { code: 'provider_rejected', message: 'The provider said no.', retryable: false } }), scene(2, 'generated'),
    ], 3)).toBe('Finished with problems: 2 of 3 scenes generated (20 credits charged); scene 2 of 3 (the map glowing) failed and was not charged: The provider said no. Generating it again unchanged will fail the same way (not retryable): change its prompt or image first.');
    expect(phaseOf(gen('queued'), [scene(1, 'queued')], 3)).toBe('Waiting to start scene 2 of 3: the map glowing.');
    // A refused key is not the prompt's fault: no advice to change it.
    const auth = phaseOf(gen('failed'), [scene(0, 'failed', { error: { code: 'provider_auth', message: 'openai:sora-2 answered 401.', retryable: true } })], 3);
    expect(auth).toMatch(/operator must fix its configuration; the prompt is not the problem\.$/);
    expect(auth).not.toMatch(/change its prompt/);
  });

  it('labels scenes by a short form of their prompt', () => {
    expect(sceneLabel('A sleepy fox finds an old map.')).toBe('a sleepy fox finds an old map');
    expect(sceneLabel('NASA rover lands')).toBe('NASA rover lands');
    expect(sceneLabel('word '.repeat(30), 20)).toBe('word word word word...');
  });
});
