import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalImageProvider, probeMedia, promptColors, wrapText } from '../../src/media/index.js';
import { makeTempDir, pixelAt } from './helpers.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('image');
});
afterAll(() => tmp.cleanup());

const provider = new LocalImageProvider();

describe('local text-to-image', () => {
  it('writes a PNG of the requested size', async () => {
    for (const [width, height] of [[320, 180], [640, 360], [256, 256]] as const) {
      const out = tmp.file(`still-${width}x${height}.png`);
      const res = await provider.generateImage({ prompt: 'A lighthouse at dusk', width, height, outPath: out });
      expect(res).toEqual({ path: out, width, height });
      const bytes = await readFile(out);
      expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      const probe = await probeMedia(out);
      expect([probe.width, probe.height, probe.videoCodec]).toEqual([width, height, 'png']);
    }
  });

  it('derives its colours from the prompt: two prompts differ, one prompt is stable', async () => {
    const a = await provider.generateImage({ prompt: 'a red fox in snow', width: 320, height: 180, outPath: tmp.file('fox.png') });
    const b = await provider.generateImage({ prompt: 'an underwater city', width: 320, height: 180, outPath: tmp.file('city.png') });
    const a2 = await provider.generateImage({ prompt: 'a red fox in snow', width: 320, height: 180, outPath: tmp.file('fox2.png') });
    const [pa, pb, pa2] = await Promise.all([pixelAt(a.path, 2, 2), pixelAt(b.path, 2, 2), pixelAt(a2.path, 2, 2)]);
    const distance = Math.hypot(pa[0] - pb[0], pa[1] - pb[1], pa[2] - pb[2]);
    expect(distance).toBeGreaterThan(20);
    expect(pa2).toEqual(pa);
    // The corner carries the prompt's first colour.
    const { from } = promptColors('a red fox in snow');
    expect(Math.hypot(pa[0] - from[0], pa[1] - from[1], pa[2] - from[2])).toBeLessThan(12);
    // A gradient: the opposite corner differs.
    const far = await pixelAt(a.path, 317, 177);
    expect(Math.hypot(pa[0] - far[0], pa[1] - far[1], pa[2] - far[2])).toBeGreaterThan(20);
  });

  it('draws prompts with characters that break naive drawtext escaping', async () => {
    expect(provider.drawsText).toBe(true);
    const prompt = `It's 100% "real": {x} [y]; a\\b, %{pts} \u00e9\u00e8 \u2014 ${'long '.repeat(60)}`;
    const res = await provider.generateImage({ prompt, width: 320, height: 180, outPath: tmp.file('tricky.png') });
    const probe = await probeMedia(res.path);
    expect([probe.width, probe.height]).toEqual([320, 180]);
    // The text is drawn: the still differs from a textless one of the same prompt.
    const plain = new LocalImageProvider({ fontFile: '/nonexistent/font.ttf' });
    expect(plain.drawsText).toBe(false);
    const bare = await plain.generateImage({ prompt, width: 320, height: 180, outPath: tmp.file('bare.png') });
    const [withText, without] = await Promise.all([readFile(res.path), readFile(bare.path)]);
    expect(withText.equals(without)).toBe(false);
  });

  it('wraps and truncates long text', () => {
    expect(wrapText('one two three four', 9, 3)).toBe('one two\nthree\nfour');
    expect(wrapText('a '.repeat(50), 10, 2).split('\n')).toHaveLength(2);
    expect(wrapText('x'.repeat(25), 10, 5)).toBe('xxxxxxxxxx\nxxxxxxxxxx\nxxxxx');
  });

  it('rejects an impossible size without writing anything', async () => {
    await expect(provider.generateImage({ prompt: 'x', width: 0, height: 180, outPath: tmp.file('bad.png') })).rejects.toMatchObject({
      name: 'MediaError',
      code: 'invalid_input',
    });
  });
});
