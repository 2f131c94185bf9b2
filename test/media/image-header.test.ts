import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readImageHeader } from '../../src/media/image-header.js';
import { runFfmpeg } from '../../src/media/index.js';
import { gifHeaderOnly, jpegHeaderOnly, pngHeaderOnly, webpHeaderOnly } from './crafted.js';
import { makeTempDir } from './helpers.js';

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir('image-header');
});
afterAll(() => tmp.cleanup());

/** An image made by ffmpeg from `frames` frames of a 40x30 test pattern. */
async function made(name: string, frames: number, extra: string[] = []): Promise<string> {
  const out = tmp.file(name);
  await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=40x30:r=10', '-frames:v', String(frames), ...extra, out]);
  return out;
}

async function crafted(name: string, bytes: Buffer): Promise<string> {
  await writeFile(tmp.file(name), bytes);
  return tmp.file(name);
}

describe('image headers', () => {
  it.each([
    ['still.png', 1, [], 'png'],
    ['still.jpg', 1, [], 'jpeg'],
    ['still.gif', 1, [], 'gif'],
    ['still.webp', 1, ['-c:v', 'libwebp'], 'webp'],
    ['lossless.webp', 1, ['-c:v', 'libwebp', '-lossless', '1'], 'webp'],
  ])('reads the size of a real %s without decoding it', async (name, frames, extra, format) => {
    expect(await readImageHeader(await made(name, frames, extra))).toMatchObject({ format, width: 40, height: 30, animated: false });
  });

  it.each([
    ['anim.gif', []],
    ['anim.apng', ['-f', 'apng', '-plays', '0']],
    ['anim.webp', ['-c:v', 'libwebp', '-loop', '0']],
  ])('sees that %s has more than one frame (ffprobe does not, for APNG and WebP)', async (name, extra) => {
    expect(await readImageHeader(await made(name, 5, extra))).toMatchObject({ width: 40, height: 30, animated: true });
  });

  it('reads the declared size of crafted headers, far beyond what their data holds', async () => {
    expect(await readImageHeader(await crafted('huge.png', pngHeaderOnly(16000, 16000, 16)))).toMatchObject({ format: 'png', width: 16000, height: 16000, bitDepth: 16 });
    expect(await readImageHeader(await crafted('huge.jpg', jpegHeaderOnly(16000, 12000, 6)))).toMatchObject({ format: 'jpeg', width: 16000, height: 12000, orientation: 6 });
    expect(await readImageHeader(await crafted('huge.gif', gifHeaderOnly(65535, 65535)))).toMatchObject({ format: 'gif', width: 65535, height: 65535, animated: false });
    expect(await readImageHeader(await crafted('huge.webp', webpHeaderOnly(16383, 16383)))).toMatchObject({ format: 'webp', width: 16383, height: 16383, animated: false });
  });

  it('answers null for what is not an image it knows, or is cut before its size', async () => {
    expect(await readImageHeader(await crafted('text.png', Buffer.from('not an image')))).toBeNull();
    expect(await readImageHeader(await crafted('cut.png', pngHeaderOnly(10, 10).subarray(0, 20)))).toBeNull();
    expect(await readImageHeader(await crafted('cut.jpg', jpegHeaderOnly(10, 10).subarray(0, 30)))).toBeNull();
  });
});
