import { describe, expect, it } from 'vitest';
import {
  createLocalProviders,
  FailingProvider,
  parseFailureSpec,
  PermanentProviderError,
  ProviderError,
  TransientProviderError,
  type GenerateClipRequest,
  type ImageToVideoProvider,
} from '../../src/media/index.js';

class CountingVideo implements ImageToVideoProvider {
  readonly name = 'counting';
  calls = 0;
  async generateClip(req: GenerateClipRequest) {
    this.calls++;
    return { path: req.outPath, durationS: req.durationS, width: req.width, height: req.height, hasAudio: true };
  }
}

const req = (extra: Partial<GenerateClipRequest> = {}): GenerateClipRequest => ({
  imagePath: 'in.png', prompt: 'a scene', durationS: 2, width: 320, height: 180, outPath: 'out.mp4', ...extra,
});

async function outcomes(p: ImageToVideoProvider, reqs: GenerateClipRequest[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of reqs) {
    out.push(await p.generateClip(r).then(() => 'ok', (e: unknown) => (e instanceof TransientProviderError ? 'transient' : e instanceof PermanentProviderError ? 'permanent' : 'other')));
  }
  return out;
}

describe('FailingProvider', () => {
  it('fails on the configured call numbers only', async () => {
    const inner = new CountingVideo();
    const p = new FailingProvider(inner, { calls: [2, 4] });
    expect(await outcomes(p, [req(), req(), req(), req(), req()])).toEqual(['ok', 'permanent', 'ok', 'permanent', 'ok']);
    expect([p.calls, p.failures, inner.calls]).toEqual([5, 2, 3]);
  });

  it('fails the first N calls with a transient error, then recovers (retry may help)', async () => {
    const p = new FailingProvider(new CountingVideo(), { firstCalls: 2, kind: 'transient' });
    expect(await outcomes(p, [req(), req(), req()])).toEqual(['transient', 'transient', 'ok']);
    const err = await new FailingProvider(new CountingVideo(), { always: true, kind: 'transient' }).generateClip(req()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ transient: true, provider: 'counting', code: 'provider_unavailable' });
  });

  it('fails for the given scene indexes or node ids, whatever the order of calls', async () => {
    const p = new FailingProvider(new CountingVideo(), { sceneIndexes: [1], nodeIds: ['n9'] });
    expect(await outcomes(p, [req({ sceneIndex: 2 }), req({ sceneIndex: 1 }), req({ sceneIndex: 0 }), req({ nodeId: 'n9' }), req({ sceneIndex: 1 })]))
      .toEqual(['ok', 'permanent', 'ok', 'permanent', 'permanent']);
    const err = await p.generateClip(req({ sceneIndex: 1 })).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/scene 1/);
  });

  it('always fails when told to, with the configured message', async () => {
    const p = new FailingProvider(new CountingVideo(), { always: true, message: 'upstream quota exhausted' });
    await expect(p.generateClip(req())).rejects.toThrow('upstream quota exhausted');
    await expect(p.generateClip(req())).rejects.toBeInstanceOf(PermanentProviderError);
  });

  it('is never triggered by the prompt', async () => {
    const p = new FailingProvider(new CountingVideo(), { sceneIndexes: [7] });
    expect(await outcomes(p, [req({ prompt: 'fail' }), req({ prompt: 'FAIL please error transient permanent' })])).toEqual(['ok', 'ok']);
  });

  it('must be configured, and parses a spec string', () => {
    expect(() => new FailingProvider(new CountingVideo(), {})).toThrow(/configure/);
    expect(parseFailureSpec('calls=2,3;kind=transient')).toEqual({ calls: [2, 3], kind: 'transient' });
    expect(parseFailureSpec('scenes=1; message=no luck')).toEqual({ sceneIndexes: [1], message: 'no luck' });
    expect(parseFailureSpec('always')).toEqual({ always: true });
    expect(parseFailureSpec('first=2')).toEqual({ firstCalls: 2 });
    expect(() => parseFailureSpec('kind=sometimes')).toThrow();
    expect(() => parseFailureSpec('bogus=1')).toThrow();
  });

  it('wraps the local providers through createLocalProviders', async () => {
    const providers = createLocalProviders({ failures: { video: { sceneIndexes: [1] }, image: { always: true, kind: 'transient' } } });
    expect(providers.imageToVideo).toBeInstanceOf(FailingProvider);
    expect(providers.imageToVideo.name).toBe('local');
    await expect(providers.imageToVideo.generateClip(req({ sceneIndex: 1 }))).rejects.toBeInstanceOf(PermanentProviderError);
    await expect(providers.textToImage.generateImage({ prompt: 'x', width: 64, height: 64, outPath: 'x.png' })).rejects.toBeInstanceOf(TransientProviderError);
    expect(createLocalProviders().imageToVideo).not.toBeInstanceOf(FailingProvider);
  });
});
