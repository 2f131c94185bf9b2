/**
 * A clip of the wrong length is reported honestly: the built-in clip maker runs here, on the same
 * image with the same arguments, so its failure is neither blamed on "the video provider" nor
 * offered as worth another try; a hosted model's is.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationService } from '../../src/generation/index.js';
import type { Worker } from '../../src/jobs/index.js';
import { assertInvariants } from '../../src/ledger/index.js';
import { LocalVideoProvider, type ImageToVideoProvider } from '../../src/media/index.js';
import { testDatabases } from '../helpers/db.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, startWorker, useGeneration, waitForGeneration } from './helpers.js';

/** A provider under `name` whose clips last half of what was asked. */
function halfLength(name: string): ImageToVideoProvider {
  const real = new LocalVideoProvider();
  return { name, generateClip: (req) => real.generateClip({ ...req, durationS: req.durationS / 2 }) };
}

/** The configuration with every video model served by `provider`. */
function withVideo(g: GenerationService, provider: ImageToVideoProvider): GenerationService {
  const byModel = new Map([...(g.providers.videoByModel?.keys() ?? ['local'])].map((id) => [id, provider]));
  return { ...g, providers: { ...g.providers, imageToVideo: provider, videoByModel: byModel } };
}

describe.each(testDatabases())('a clip of the wrong length on %s', (kind) => {
  let s: TestServer;
  let worker: Worker | null = null;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterEach(async () => {
    await worker?.stop({ abortAfterMs: 5_000 });
    worker = null;
    await assertInvariants(s.fresh.db);
  });
  afterAll(async () => {
    await s.close();
  });

  async function failedScene(provider: ImageToVideoProvider) {
    const g = useGeneration(s);
    const a = await s.account({ credits: 100 });
    const wf = await createFox(s, a.key, [{ prompt: 'A fox naps', duration_s: 2 }]);
    worker = startWorker(s, withVideo(g, provider));
    expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
    const st = await waitForGeneration(s, a.key, wf.id);
    expect(st.status, JSON.stringify(st)).toBe('failed');
    return st.scenes[0].error;
  }

  it('from the built-in clip maker: not retryable, and not blamed on a provider', async () => {
    const error = await failedScene(halfLength('local'));
    expect(error).toMatchObject({ code: 'bad_clip', retryable: false });
    expect(error.message).toMatch(/^The built-in clip maker made 1\.\d\d s instead of 2 s from this scene's image; generating again would make the same\.$/);
  });

  it('from a hosted model: retryable, naming it', async () => {
    const error = await failedScene(halfLength('acme:v1'));
    expect(error).toMatchObject({ code: 'bad_clip', retryable: true });
    expect(error.message).toMatch(/^The video provider acme:v1 delivered 1\.\d\d s instead of 2 s\.$/);
  });
});
