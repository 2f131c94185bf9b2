/** `provider:model` configuration: defaults, validation, prices per model. */
import { describe, expect, it } from 'vitest';
import { modelsFromEnv } from '../../src/config.js';
import { generationFromEnv } from '../helpers/config.js';

describe('model configuration', () => {
  it('with nothing configured every capability is local, as before', () => {
    const m = modelsFromEnv({});
    expect([m.image.id, m.video.map((v) => v.id), m.review.id]).toEqual(['local', ['local'], 'local']);
    const g = generationFromEnv({});
    expect(g.wiring).toMatchObject({ text_to_image: 'local', image_to_video: 'local', vision_review: 'local' });
    expect(g.settings).toMatchObject({ model: 'local', videoModels: ['local'] });
    expect(g.providers.imageToVideo.name).toBe('local');
  });

  it('parses provider:model lists, the first video model being the default', () => {
    const m = modelsFromEnv({ LAVENDLY_VIDEO_MODEL: 'openai:sora-2, local', OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1/' });
    expect(m.video).toEqual([{ id: 'openai:sora-2', provider: 'openai', model: 'sora-2' }, { id: 'local', provider: 'local', model: 'local' }]);
    expect(m.openai.baseUrl).toBe('http://127.0.0.1:9/v1');
  });

  it('refuses unknown providers, missing keys, duplicates and unpriced models with the variable named', () => {
    expect(() => modelsFromEnv({ LAVENDLY_VIDEO_MODEL: 'acme:v1' })).toThrow(/LAVENDLY_VIDEO_MODEL: expected local or provider:model/);
    expect(() => modelsFromEnv({ LAVENDLY_VIDEO_MODEL: 'openai:' })).toThrow(/LAVENDLY_VIDEO_MODEL/);
    expect(() => modelsFromEnv({ LAVENDLY_VIDEO_MODEL: 'openai:sora-2' })).toThrow(/openai:sora-2 is configured but OPENAI_API_KEY is not set/);
    expect(() => modelsFromEnv({ LAVENDLY_VIDEO_MODEL: 'local,local' })).toThrow(/twice/);
    expect(() => generationFromEnv({ LAVENDLY_VIDEO_MODEL: 'openai:sora-9', OPENAI_API_KEY: 'k' })).toThrow(/no video price for openai:sora-9/);
    const priced = generationFromEnv({
      LAVENDLY_VIDEO_MODEL: 'openai:sora-9', OPENAI_API_KEY: 'k', LAVENDLY_PRICES: '{"video":{"openai:sora-9":{"credits":3,"per_s":1}}}',
    });
    expect(priced.settings.model).toBe('openai:sora-9');
    expect(() => generationFromEnv({ LAVENDLY_REVIEW_MODEL: 'runway:gen4_turbo', RUNWAYML_API_SECRET: 'k' })).toThrow(/OpenAI-compatible chat API/);
  });
});
