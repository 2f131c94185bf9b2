/**
 * A scene whose clip cannot be read told the customer ffprobe's words with the server's paths:
 * "Generating the scene failed after 3 attempts: cannot probe /srv/lavendly/data/files/acc_.../
 * gen_....mp4: ...". The message keeps the file, not the data directory.
 */
import fs from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationService } from '../../src/generation/index.js';
import type { Worker } from '../../src/jobs/index.js';
import { ProviderError, type ImageToVideoProvider } from '../../src/media/index.js';
import { testDatabases } from '../helpers/db.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, startWorker, useGeneration, waitForGeneration } from './helpers.js';

/** A provider whose "clip" is text: ffprobe cannot read it. */
const damaged: ImageToVideoProvider = {
  name: 'damaged',
  async generateClip(req) {
    await fs.writeFile(req.outPath, 'not a video');
    return { path: req.outPath, durationS: req.durationS, width: req.width, height: req.height, hasAudio: false };
  },
};

/** A provider that gives up (permanently) in its own words, which name the file it was to write. */
const refusing: ImageToVideoProvider = {
  name: 'refusing',
  async generateClip(req) {
    throw new ProviderError('refusing', `refusing could not write ${req.outPath}`, { transient: false });
  },
};

function withVideo(g: GenerationService, provider: ImageToVideoProvider): GenerationService {
  const byModel = new Map([...(g.providers.videoByModel?.keys() ?? ['local'])].map((id) => [id, provider]));
  return { ...g, providers: { ...g.providers, imageToVideo: provider, videoByModel: byModel } };
}

describe.each(testDatabases())('a scene whose clip cannot be read on %s', (kind) => {
  let s: TestServer;
  let worker: Worker | null = null;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterEach(async () => {
    await worker?.stop({ abortAfterMs: 5_000 });
    worker = null;
  });
  afterAll(async () => {
    await s.close();
  });

  it('is failed with a message that names no directory of the server', { timeout: 60_000 }, async () => {
    const g = useGeneration(s);
    const a = await s.account({ credits: 100 });
    const wf = await createFox(s, a.key, [{ prompt: 'A fox naps', duration_s: 2 }]);
    worker = startWorker(s, withVideo(g, damaged));
    expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
    const st = await waitForGeneration(s, a.key, wf.id);
    expect(st.status, JSON.stringify(st)).toBe('failed');
    const { message } = st.scenes[0].error as { message: string };
    expect(message).toMatch(/^Generating the scene failed after \d attempts?: .*…\/files\/acc_/s);
    expect(message).not.toContain(s.fresh.dataDir);
  });

  it('is failed by a provider\'s own words without the server\'s directories', { timeout: 60_000 }, async () => {
    const g = useGeneration(s);
    const a = await s.account({ credits: 100 });
    const wf = await createFox(s, a.key, [{ prompt: 'A fox naps', duration_s: 2 }]);
    worker = startWorker(s, withVideo(g, refusing));
    expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
    const st = await waitForGeneration(s, a.key, wf.id);
    expect(st.status, JSON.stringify(st)).toBe('failed');
    const { message } = st.scenes[0].error as { message: string };
    expect(message).toMatch(/refusing could not write …\//);
    expect(JSON.stringify(st)).not.toContain(s.fresh.dataDir);
  });
});
