/**
 * What the local clip maker does with imported images it did not draw itself: an animated one
 * gives its first frame only (not one zoom of every frame), and one of another aspect fills the
 * frame undistorted (scaled to cover, centre-cropped), as delivered clips are.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFrame, LocalVideoProvider, probeMedia, runFfmpeg } from '../../src/media/index.js';
import { withOrientation } from './crafted.js';
import { makeTempDir, pixelAt } from './helpers.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
const videos = new LocalVideoProvider();

beforeAll(async () => {
  tmp = await makeTempDir('clip-inputs');
});
afterAll(() => tmp.cleanup());

/** `w`x`h`: red on the left half, blue on the right. */
async function halves(out: string, w: number, h: number): Promise<string> {
  await runFfmpeg([
    '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=red:s=${w / 2}x${h}`, '-f', 'lavfi', '-i', `color=c=blue:s=${w / 2}x${h}`,
    '-filter_complex', '[0][1]hstack=2', '-frames:v', '1', out,
  ]);
  return out;
}

/** Whether an RGB pixel is near a pure colour (H.264 shifts colours a little). */
const near = (rgb: number[], want: number[]) => rgb.every((c, i) => Math.abs(c - want[i]!) < 60);

describe('local clips from imported images', () => {
  it('an animated GIF gives a clip of the asked length, from its first frame only', async () => {
    // 60 frames: animated frame by frame, this made 60 s of video for a 1 s scene.
    const gif = tmp.file('anim.gif');
    await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=32x24:r=10', '-frames:v', '60', gif]);
    const started = Date.now();
    await videos.generateClip({ imagePath: gif, prompt: 'gif', durationS: 1, width: 160, height: 90, outPath: tmp.file('gif.mp4') });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await probeMedia(tmp.file('gif.mp4'))).durationS).toBeCloseTo(1, 1);
  }, 60_000);

  it('a 640x360 image in a 9:16 clip is cropped to cover, not squeezed', async () => {
    // Three vertical bands, red | green | blue. Covering 180x320 crops the middle of the image,
    // inside the green band; squeezed to 180x320 the red and blue bands would show at the sides.
    const image = tmp.file('bands.png');
    await runFfmpeg([
      '-loglevel', 'error',
      '-f', 'lavfi', '-i', 'color=c=red:s=214x360', '-f', 'lavfi', '-i', 'color=c=lime:s=212x360', '-f', 'lavfi', '-i', 'color=c=blue:s=214x360',
      '-filter_complex', '[0][1][2]hstack=3', '-frames:v', '1', image,
    ]);
    const out = tmp.file('portrait.mp4');
    await videos.generateClip({ imagePath: image, prompt: 'bands', durationS: 1, width: 180, height: 320, outPath: out });
    expect(await probeMedia(out)).toMatchObject({ width: 180, height: 320 });
    for (const atS of [0, 0.5, 0.96]) {
      const still = await extractFrame({ inputPath: out, atS, outPath: tmp.file(`still-${atS}.png`) });
      for (const x of [4, 90, 175]) expect(near(await pixelAt(still.path, x, 160), [0, 255, 0]), `pixel at x=${x}, ${atS} s`).toBe(true);
    }
  }, 60_000);

  it('a phone photo stored sideways (EXIF orientation 6) is turned upright', async () => {
    // Stored 320x180, red | blue; orientation 6 shows it turned a quarter clockwise: 180x320,
    // red above blue. Ignoring the tag, a 9:16 clip showed red | blue side by side.
    const stored = await halves(tmp.file('stored.jpg'), 320, 180);
    await writeFile(tmp.file('portrait.jpg'), withOrientation(await readFile(stored), 6));
    const out = tmp.file('upright.mp4');
    await videos.generateClip({ imagePath: tmp.file('portrait.jpg'), prompt: 'upright', durationS: 1, width: 180, height: 320, outPath: out });
    const still = await extractFrame({ inputPath: out, atS: 0.5, outPath: tmp.file('upright.png') });
    expect(near(await pixelAt(still.path, 90, 40), [255, 0, 0]), 'top is red').toBe(true);
    expect(near(await pixelAt(still.path, 90, 280), [0, 0, 255]), 'bottom is blue').toBe(true);
  }, 60_000);

  it('a video with a quarter-turn rotation probes at the size it is shown', async () => {
    const landscape = tmp.file('landscape.mp4');
    await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=64x36:r=5', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', landscape]);
    await runFfmpeg(['-loglevel', 'error', '-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', tmp.file('turned.mp4')]);
    expect(await probeMedia(landscape)).toMatchObject({ width: 64, height: 36 });
    expect(await probeMedia(tmp.file('turned.mp4'))).toMatchObject({ width: 36, height: 64 });
  });
});
