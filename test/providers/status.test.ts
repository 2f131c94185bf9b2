/** get_status lists every wired model with its capabilities, and never a key. */
import { afterEach, describe, expect, it } from 'vitest';
import { modelsFromEnv } from '../../src/config.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer | null = null;
afterEach(async () => {
  await s?.close();
  s = null;
});

describe('get_status and the wired models', () => {
  it('reports local for everything when nothing is configured', async () => {
    s = await startTestServer('sqlite');
    const r = await call(`${s.base}/_status`);
    expect(r.status, r.text).toBe(200);
    expect(r.json.providers).toMatchObject({ text_to_image: 'local', image_to_video: 'local', vision_review: 'local' });
    expect(r.json.providers.models.map((m: any) => [m.capability, m.id, m.default])).toEqual([
      ['text_to_image', 'local', true], ['image_to_video', 'local', true], ['vision_review', 'local', true],
    ]);
  });

  it('lists each configured provider and model with durations and aspect ratios', async () => {
    const models = modelsFromEnv({
      LAVENDLY_IMAGE_MODEL: 'openai:gpt-image-1', LAVENDLY_VIDEO_MODEL: 'runway:gen4_turbo,openai:sora-2,local',
      OPENAI_API_KEY: 'sk-status-secret', RUNWAYML_API_SECRET: 'key_status_secret',
    });
    s = await startTestServer('sqlite', { config: { models } });
    const r = await call(`${s.base}/_status`);
    expect(r.status, r.text).toBe(200);
    expect(r.json.providers).toMatchObject({ text_to_image: 'openai:gpt-image-1', image_to_video: 'runway:gen4_turbo', vision_review: 'local' });
    expect(r.json.providers.models).toEqual([
      { capability: 'text_to_image', id: 'openai:gpt-image-1', provider: 'openai', model: 'gpt-image-1', default: true },
      { capability: 'image_to_video', id: 'runway:gen4_turbo', provider: 'runway', model: 'gen4_turbo', default: true, durations_s: [5, 10], aspect_ratios: ['16:9', '9:16', '1:1'] },
      { capability: 'image_to_video', id: 'openai:sora-2', provider: 'openai', model: 'sora-2', default: false, durations_s: [4, 8, 12], aspect_ratios: ['16:9', '9:16'] },
      { capability: 'image_to_video', id: 'local', provider: 'local', model: 'local', default: false, durations_s: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], aspect_ratios: ['16:9', '9:16', '1:1'] },
      { capability: 'vision_review', id: 'local', provider: 'local', model: 'local', default: true },
    ]);
    expect(r.text).not.toContain('secret');
  });
});
