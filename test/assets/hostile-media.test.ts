/**
 * Uploads of hostile media (animated images, pictures declaring more pixels than any still needs,
 * audio with a lying header): each is refused with a message saying why, before it costs the
 * server much, and leaves nothing behind. Imports share these checks (storeReceivedFile).
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUploadSlot, receiveUpload, type AssetsConfig } from '../../src/assets/index.js';
import { runFfmpeg } from '../../src/media/index.js';
import { testDatabases } from '../helpers/db.js';
import { gifHeaderOnly, jpegHeaderOnly, pngHeaderOnly, wav, webpHeaderOnly } from '../media/crafted.js';
import { apiError, assetEnv, makeFixtures, type AssetEnv } from './fixtures.js';

let media: Awaited<ReturnType<typeof makeFixtures>>;
const made = (name: string, args: string[]) => runFfmpeg(['-loglevel', 'error', ...args, media.file(name)]);

beforeAll(async () => {
  media = await makeFixtures(['a.gif', 'a.wav']);
  const frames = ['-f', 'lavfi', '-i', 'testsrc=s=32x24:r=10', '-frames:v', '30'];
  await made('anim.gif', frames);
  await made('anim.apng', [...frames, '-f', 'apng', '-plays', '0']);
  await made('anim.webp', [...frames, '-c:v', 'libwebp', '-loop', '0']);
  await made('blip.wav', ['-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '0.02']);
  fs.writeFileSync(media.file('rate2g.wav'), wav(2_000_000_000, 192_000));
}, 60_000);
afterAll(() => media?.cleanup());

describe.each(testDatabases())('hostile media uploads on %s', (dbKind) => {
  let env: AssetEnv;
  beforeAll(async () => {
    env = await assetEnv(dbKind);
  });
  afterEach(async () => {
    await env.reset();
  });
  afterAll(async () => {
    await env.close();
  });

  async function upload(kind: string, body: Buffer | string, config: AssetsConfig = {}) {
    const deps = { db: env.fresh.db, storage: env.storage, config };
    const slot = await createUploadSlot({ ...deps, accountId: 'acc_1', kind });
    const url = new URL(slot.upload_url);
    const stream = typeof body === 'string' ? fs.createReadStream(body) : Readable.from([body]);
    return receiveUpload({ ...deps, slotId: slot.id, token: url.searchParams.get('token')!, stream });
  }

  it.each(['anim.gif', 'anim.apng', 'anim.webp'])('an animated image (%s) is refused: 415 saying animated images are not supported', async (name) => {
    const err = await apiError(upload('image', media.file(name)));
    expect(err).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(err.message).toMatch(/^Animated images are not supported/);
    expect(err.details).toMatchObject({ reason: 'animated_image' });
    expect(env.storedFiles()).toEqual([]);
  });

  it('a one-frame GIF is still an image', async () => {
    expect(await upload('image', media.file('a.gif'))).toMatchObject({ content_type: 'image/gif', width: 32, height: 24 });
  });

  it.each([
    ['PNG 16000x16000 at 16 bits', pngHeaderOnly(16000, 16000, 16), /16000x16000 at 16 bits per channel \(256 MP\)/],
    ['PNG 30000x30000', pngHeaderOnly(30000, 30000), /30000x30000 \(900 MP\)/],
    ['PNG 6000x6000 at 16 bits (36 MP, counted twice)', pngHeaderOnly(6000, 6000, 16), /6000x6000 at 16 bits per channel/],
    ['JPEG 16000x12000', jpegHeaderOnly(16000, 12000), /16000x12000 \(192 MP\)/],
    ['GIF 65535x65535', gifHeaderOnly(65535, 65535), /65535x65535/],
    ['WebP 16383x16383', webpHeaderOnly(16383, 16383), /16383x16383/],
  ])('a %s picture is refused from its header, before ffprobe runs: 413 naming the limit', async (_name, bytes, size) => {
    let probed = 0;
    const probe = async () => { probed++; throw new Error('ffprobe must not run'); };
    const err = await apiError(upload('image', bytes, { probe }));
    expect(err).toMatchObject({ status: 413, code: 'asset_too_large' });
    expect(err.message).toMatch(/^An image may be at most 40 MP \(20 MP at more than 8 bits per channel\); this one is /);
    expect(err.message).toMatch(size);
    expect(err.details).toMatchObject({ limit: 40_000_000, reason: 'too_many_pixels' });
    expect(probed).toBe(0);
    expect(env.storedFiles()).toEqual([]);
  });

  it('an 8K still (7680x4320, 33 MP) is within the limit', async () => {
    const probe = async () => ({ durationS: null, hasVideo: true, hasAudio: false, width: 7680, height: 4320 });
    expect(await upload('image', pngHeaderOnly(7680, 4320), { probe })).toMatchObject({ width: 7680, height: 4320 });
  });

  it('a WAV declaring 2,000,000,000 Hz is refused: 415 naming the accepted rates', async () => {
    const err = await apiError(upload('music', media.file('rate2g.wav')));
    expect(err).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(err.message).toBe('The audio\'s sample rate of 2000000000 Hz is not supported (accepted: 8 to 384 kHz).');
    expect(err.details).toMatchObject({ reason: 'unsupported_sample_rate', sample_rate: 2_000_000_000 });
    expect(env.storedFiles()).toEqual([]);
  });

  it('audio shorter than 100 ms is refused; a second of it is fine', async () => {
    const err = await apiError(upload('sfx', media.file('blip.wav')));
    expect(err).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(err.message).toMatch(/^The audio lasts 20 ms; it must last at least 100 ms/);
    expect(await upload('sfx', media.file('a.wav'))).toMatchObject({ content_type: 'audio/wav', duration_s: 1 });
  });

  it('an empty file lists only the formats of the declared kind', async () => {
    const music = await apiError(upload('music', Buffer.alloc(0)));
    expect(music).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(music.message).toBe('This is not a supported audio file (accepted: MP3, AAC, M4A, WAV, OGG, FLAC audio).');
    const image = await apiError(upload('image', Buffer.alloc(0)));
    expect(image.message).toBe('This is not a supported image file (accepted: PNG, JPEG, GIF, WebP still images).');
  });
});
