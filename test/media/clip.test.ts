import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFrame, LocalImageProvider, LocalVideoProvider, probeMedia } from '../../src/media/index.js';
import { makeTempDir, streamCounts } from './helpers.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
const images = new LocalImageProvider();
const videos = new LocalVideoProvider();
const FRAME = 1 / 25;

beforeAll(async () => {
  tmp = await makeTempDir('clip');
});
afterAll(() => tmp.cleanup());

describe('local image-to-video', () => {
  it.each([
    [2, 320, 180],
    [5, 640, 360],
    [2.37, 320, 180],
  ])('makes a real %s s clip at %sx%s: H.264 + AAC, one video and one audio stream', async (durationS, width, height) => {
    const still = await images.generateImage({ prompt: `scene ${durationS}`, width, height, outPath: tmp.file(`s-${durationS}.png`) });
    const out = tmp.file(`clip-${durationS}-${width}.mp4`);
    const clip = await videos.generateClip({ imagePath: still.path, prompt: `scene ${durationS}`, durationS, width, height, outPath: out });
    expect(clip).toMatchObject({ path: out, width, height, hasAudio: true });

    const probe = await probeMedia(out);
    expect(Math.abs(probe.durationS - durationS)).toBeLessThanOrEqual(FRAME);
    expect(Math.abs(probe.videoDurationS! - durationS)).toBeLessThanOrEqual(FRAME);
    expect(Math.abs(probe.audioDurationS! - durationS)).toBeLessThanOrEqual(FRAME);
    expect(probe).toMatchObject({
      hasVideo: true, hasAudio: true, width, height,
      videoCodec: 'h264', audioCodec: 'aac', fps: 25, pixelFormat: 'yuv420p', audioSampleRate: 48000, audioChannels: 2,
    });
    expect(await streamCounts(out)).toEqual({ video: 1, audio: 1 });
  });

  it('leaves nothing behind when ffmpeg fails, and says why', async () => {
    const out = tmp.file('broken/clip.mp4');
    const err = await videos
      .generateClip({ imagePath: tmp.file('missing.png'), prompt: 'x', durationS: 1, width: 320, height: 180, outPath: out })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'MediaError', code: 'ffmpeg_failed' });
    expect((err as { stderrTail: string }).stderrTail).toMatch(/missing\.png/);
    expect(existsSync(out)).toBe(false);
    expect(await readdir(tmp.file('broken'))).toEqual([]);
  });

  it('rejects durations and sizes it cannot honour', async () => {
    const base = { imagePath: 'x.png', prompt: 'x', outPath: tmp.file('never.mp4') };
    await expect(videos.generateClip({ ...base, durationS: 0, width: 320, height: 180 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(videos.generateClip({ ...base, durationS: 2, width: 321, height: 180 })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('probe and frames', () => {
  let clipPath: string;
  beforeAll(async () => {
    const still = await images.generateImage({ prompt: 'frames', width: 320, height: 180, outPath: tmp.file('f.png') });
    clipPath = (await videos.generateClip({ imagePath: still.path, prompt: 'frames', durationS: 2, width: 320, height: 180, outPath: tmp.file('f.mp4') })).path;
  });

  it('extracts a PNG still of the clip size at a time, clamped into the clip', async () => {
    const mid = await extractFrame({ inputPath: clipPath, atS: 1, outPath: tmp.file('mid.png') });
    expect(mid).toMatchObject({ width: 320, height: 180, atS: 1 });
    expect((await probeMedia(mid.path)).videoCodec).toBe('png');

    const late = await extractFrame({ inputPath: clipPath, atS: 99, outPath: tmp.file('late.png') });
    expect(late.atS).toBeGreaterThan(1.8);
    expect(late.atS).toBeLessThan(2);
    expect([late.width, late.height]).toEqual([320, 180]);

    const early = await extractFrame({ inputPath: clipPath, atS: -5, outPath: tmp.file('early.png') });
    expect(early.atS).toBe(0);
  });

  it('probes an audio-only file and refuses a non-media file', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(tmp.file('notes.txt'), 'not media at all');
    await expect(probeMedia(tmp.file('notes.txt'))).rejects.toMatchObject({ code: 'probe_failed' });
    await expect(probeMedia(tmp.file('absent.mp4'))).rejects.toMatchObject({ code: 'probe_failed' });
  });
});
