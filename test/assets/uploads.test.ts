import fs from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUploadSlot, getUsage, receiveUpload, setQuota, type AssetsConfig, type UploadSlot } from '../../src/assets/index.js';
import { EXPIRED_SLOT_KEPT_MS, sweepExpiredSlots } from '../../src/assets/uploads.js';
import { runFfmpeg } from '../../src/media/index.js';
import { testDatabases } from '../helpers/db.js';
import { withOrientation } from '../media/crafted.js';
import { apiError, assetEnv, bytesStream, makeFixtures, PNG_HEAD, type AssetEnv } from './fixtures.js';

const MB = 1024 * 1024;
let media: Awaited<ReturnType<typeof makeFixtures>>;

beforeAll(async () => {
  media = await makeFixtures(['a.png', 'a.mp4', 'a.mp3', 'long.mp4']);
}, 60_000);
afterAll(() => media?.cleanup());

/** Slot id and token as the PUT route would take them from the upload URL. */
function fromUrl(slot: UploadSlot): { slotId: string; token: string } {
  const url = new URL(slot.upload_url);
  const m = /^\/v1\/uploads\/([^/]+)$/.exec(url.pathname);
  expect(m).not.toBeNull();
  return { slotId: m![1]!, token: url.searchParams.get('token')! };
}

describe.each(testDatabases())('uploads on %s', (dbKind) => {
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
  const deps = (config: AssetsConfig = {}) => ({ db: env.fresh.db, storage: env.storage, config });
  const slotStatus = async (id: string) => (await env.fresh.db('upload_slots').where({ id }).first()).status as string;

  it('happy path: a signed, expiring slot; the PUT body becomes an asset', async () => {
    const size = fs.statSync(media.file('a.png')).size;
    const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image', filename: '../../My Photo.png', bytes: size });
    expect(slot.id).toMatch(/^upl_/);
    expect(slot.upload_url).toMatch(/^http:\/\/localhost:8090\/v1\/uploads\/upl_[^?]+\?token=\d+\.[A-Za-z0-9_-]{43}$/);
    expect(slot.max_bytes).toBe(size);
    expect(slot.filename).toBe('My Photo.png');
    const ttl = (Date.parse(slot.expires_at) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(14 * 60);
    expect(ttl).toBeLessThanOrEqual(15 * 60);

    const asset = await receiveUpload({ ...deps(), ...fromUrl(slot), stream: fs.createReadStream(media.file('a.png')), contentLength: size });
    expect(asset).toMatchObject({ kind: 'image', source: 'upload', filename: 'My Photo.png', content_type: 'image/png', bytes: size, width: 32, height: 24 });
    expect(env.storage.verifySignedUrl(asset.url).ok).toBe(true);
    expect(await slotStatus(slot.id)).toBe('completed');
    expect((await env.fresh.db('upload_slots').where({ id: slot.id }).first()).asset_id).toBe(asset.id);
    expect((await getUsage(env.fresh.db, 'acc_1')).usedBytes).toBe(size);
    expect(env.storedFiles()).toHaveLength(1);
  });

  it('slots that expired unused or failed are swept an hour after expiry; completed and receiving ones stay', async () => {
    const size = fs.statSync(media.file('a.png')).size;
    const done = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image', bytes: size });
    await receiveUpload({ ...deps(), ...fromUrl(done), stream: fs.createReadStream(media.file('a.png')), contentLength: size });
    const failed = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image', bytes: 50_000 });
    await apiError(receiveUpload({ ...deps(), ...fromUrl(failed), stream: fs.createReadStream(media.file('a.png')) }));
    for (let i = 0; i < 40; i++) await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image' });
    const receiving = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image' });
    await env.fresh.db('upload_slots').where({ id: receiving.id }).update({ status: 'receiving' });
    const count = async () => Number((await env.fresh.db('upload_slots').count({ n: '*' }))[0]!.n);
    expect(await count()).toBe(43);

    const expiry = Date.parse(done.expires_at);
    expect(await sweepExpiredSlots(env.fresh.db, expiry + EXPIRED_SLOT_KEPT_MS - 60_000)).toBe(0);
    // The first sweep is capped; the next takes the rest.
    expect(await sweepExpiredSlots(env.fresh.db, expiry + EXPIRED_SLOT_KEPT_MS + 60_000, 25)).toBe(25);
    expect(await sweepExpiredSlots(env.fresh.db, expiry + EXPIRED_SLOT_KEPT_MS + 60_000)).toBe(16);
    expect(await env.fresh.db('upload_slots').orderBy('status').pluck('status')).toEqual(['completed', 'receiving']);
    // The swept slot's URL is now just an unknown token.
    expect((await apiError(receiveUpload({ ...deps(), ...fromUrl(failed), stream: bytesStream(PNG_HEAD, 100) }))).code).toBe('upload_token_invalid');
  });

  it('video and music uploads without a declared size, with durations', async () => {
    const v = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'video' });
    expect(v.max_bytes).toBe(300 * MB);
    const video = await receiveUpload({ ...deps(), ...fromUrl(v), stream: fs.createReadStream(media.file('a.mp4')) });
    expect(video.duration_s).toBeCloseTo(2, 0);
    const m = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'music' });
    const music = await receiveUpload({ ...deps(), ...fromUrl(m), stream: fs.createReadStream(media.file('a.mp3')) });
    expect(music.content_type).toBe('audio/mpeg');
  });

  it('a photo stored sideways (EXIF orientation 6) and a video with a quarter-turn rotation report the size they show at', async () => {
    await runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=64x36:r=1', '-frames:v', '1', media.file('sideways.jpg')]);
    fs.writeFileSync(media.file('portrait.jpg'), withOrientation(fs.readFileSync(media.file('sideways.jpg')), 6));
    await runFfmpeg(['-loglevel', 'error', '-i', media.file('a.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', media.file('turned.mp4')]);
    const photo = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image' });
    expect(await receiveUpload({ ...deps(), ...fromUrl(photo), stream: fs.createReadStream(media.file('portrait.jpg')) })).toMatchObject({ width: 36, height: 64 });
    const video = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'video' });
    expect(await receiveUpload({ ...deps(), ...fromUrl(video), stream: fs.createReadStream(media.file('turned.mp4')) })).toMatchObject({ width: 48, height: 64 });
  });

  it('a used slot is refused (one-time), also under concurrent PUTs', async () => {
    const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image' });
    await receiveUpload({ ...deps(), ...fromUrl(slot), stream: fs.createReadStream(media.file('a.png')) });
    const again = await apiError(receiveUpload({ ...deps(), ...fromUrl(slot), stream: fs.createReadStream(media.file('a.png')) }));
    expect(again).toMatchObject({ status: 409, code: 'upload_completed' });

    const racing = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image' });
    const results = await Promise.allSettled(
      [0, 1, 2, 3].map(() => receiveUpload({ ...deps(), ...fromUrl(racing), stream: fs.createReadStream(media.file('a.png')) })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('upload_completed');
    expect(env.storedFiles()).toHaveLength(2);
  });

  it('an expired slot is refused (403 upload_token_invalid, reason expired)', async () => {
    const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image', now: new Date(Date.now() - 16 * 60_000) });
    const err = await apiError(receiveUpload({ ...deps(), ...fromUrl(slot), stream: fs.createReadStream(media.file('a.png')) }));
    expect(err).toMatchObject({ status: 403, code: 'upload_token_invalid' });
    expect(err.details).toMatchObject({ reason: 'expired' });
    expect(await slotStatus(slot.id)).toBe('open');
    // and a fresh slot PUT after its lifetime
    const fresh = await createUploadSlot({ ...deps({ uploadSlotTtlS: 60 }), accountId: 'acc_1', kind: 'image' });
    const late = await apiError(receiveUpload({ ...deps(), ...fromUrl(fresh), stream: fs.createReadStream(media.file('a.png')), now: new Date(Date.now() + 61_000) }));
    expect(late.code).toBe('upload_token_invalid');
    expect(late.details.reason).toBe('expired');
    expect(env.storedFiles()).toEqual([]);
  });

  it('tampered, forged, foreign and missing tokens are refused (403 upload_token_invalid)', async () => {
    const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image' });
    const other = await createUploadSlot({ ...deps(), accountId: 'acc_2', kind: 'image' });
    const { slotId, token } = fromUrl(slot);
    const [exp, sig] = token.split('.') as [string, string];
    const variants: [string, string | undefined][] = [
      [slotId, `${Number(exp) + 3600}.${sig}`], // later expiry, same signature
      [slotId, `${exp}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`], // edited signature
      [slotId, fromUrl(other).token], // another slot's token
      [fromUrl(other).slotId, token], // this token on another slot
      [slotId, undefined],
      [slotId, ''],
      [slotId, 'garbage'],
      ['upl_doesnotexist', token],
    ];
    for (const [id, t] of variants) {
      const err = await apiError(receiveUpload({ ...deps(), slotId: id, token: t, stream: fs.createReadStream(media.file('a.png')) }));
      expect(err, `${id} ${t}`).toMatchObject({ status: 403, code: 'upload_token_invalid' });
      expect(err.details.reason).toBe('invalid');
    }
    // a signing key other than the server's
    const { FileStorage } = await import('../../src/storage/storage.js');
    const forger = new FileStorage({ dataDir: env.fresh.dataDir, publicBaseUrl: 'http://localhost:8090', secret: Buffer.from('not-the-server-secret') });
    const forged = await apiError(receiveUpload({ db: env.fresh.db, storage: forger, config: {}, slotId, token, stream: fs.createReadStream(media.file('a.png')) }));
    expect(forged.code).toBe('upload_token_invalid');
    expect(await slotStatus(slotId)).toBe('open'); // still usable by its rightful holder
    await receiveUpload({ ...deps(), slotId, token, stream: fs.createReadStream(media.file('a.png')) });
  });

  describe('the same limits as imports', () => {
    it('size: a body over the kind limit is cut while streaming; no file; the slot is spent', async () => {
      const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image' });
      const err = await apiError(receiveUpload({ ...deps(), ...fromUrl(slot), stream: bytesStream(PNG_HEAD, 30 * MB) }));
      expect(err).toMatchObject({ status: 413, code: 'asset_too_large' });
      expect(err.details).toMatchObject({ limit: 25 * MB });
      expect(await slotStatus(slot.id)).toBe('failed');
      expect(env.storedFiles()).toEqual([]);
    });

    it('size: a declared slot size is the cap; a too-big Content-Length is refused before reading and keeps the slot open', async () => {
      const size = fs.statSync(media.file('a.png')).size;
      await expect(createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image', bytes: 26 * MB })).rejects.toMatchObject({ code: 'asset_too_large' });
      const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image', bytes: size });
      const early = await apiError(receiveUpload({ ...deps(), ...fromUrl(slot), stream: bytesStream(PNG_HEAD, size * 2), contentLength: size * 2 }));
      expect(early.code).toBe('asset_too_large');
      expect(await slotStatus(slot.id)).toBe('open');
      // a client lying about Content-Length is still cut at the cap
      const lying = await apiError(receiveUpload({ ...deps(), ...fromUrl(slot), stream: bytesStream(PNG_HEAD, size * 2), contentLength: size }));
      expect(lying.code).toBe('asset_too_large');
      expect(env.storedFiles()).toEqual([]);
    });

    it('size: fewer bytes than declared is refused', async () => {
      const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image', bytes: 50_000 });
      const err = await apiError(receiveUpload({ ...deps(), ...fromUrl(slot), stream: fs.createReadStream(media.file('a.png')) }));
      expect(err).toMatchObject({ status: 400, code: 'validation_error' });
      expect(err.details).toMatchObject({ reason: 'size_mismatch' });
      expect(env.storedFiles()).toEqual([]);
    });

    it('type: sniffed, whatever the file name says', async () => {
      const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'video', filename: 'clip.mp4' });
      const err = await apiError(receiveUpload({ ...deps(), ...fromUrl(slot), stream: fs.createReadStream(media.file('a.png')) }));
      expect(err).toMatchObject({ status: 415, code: 'unsupported_media_type' });
      const html = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image', filename: 'x.png' });
      const err2 = await apiError(receiveUpload({ ...deps(), ...fromUrl(html), stream: Readable.from([Buffer.from('<svg onload=alert(1)>')]) }));
      expect(err2.code).toBe('unsupported_media_type');
      expect(env.storedFiles()).toEqual([]);
    });

    it('duration: a 4-minute video is refused', async () => {
      const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'video' });
      const err = await apiError(receiveUpload({ ...deps(), ...fromUrl(slot), stream: fs.createReadStream(media.file('long.mp4')) }));
      expect(err).toMatchObject({ status: 413, code: 'duration_too_long' });
      expect(await slotStatus(slot.id)).toBe('failed');
      expect(env.storedFiles()).toEqual([]);
    });

    it('quota: refused at slot creation when declared, and while streaming when not', async () => {
      await setQuota(env.fresh.db, 'acc_1', 1 * MB);
      await expect(createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image', bytes: 2 * MB })).rejects.toMatchObject({ code: 'storage_quota_exceeded' });
      const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image' });
      const err = await apiError(receiveUpload({ ...deps(), ...fromUrl(slot), stream: bytesStream(PNG_HEAD, 3 * MB) }));
      expect(err).toMatchObject({ status: 413, code: 'storage_quota_exceeded' });
      expect((await getUsage(env.fresh.db, 'acc_1')).usedBytes).toBe(0);
      expect(env.storedFiles()).toEqual([]);
    });

    it('a stalled upload is abandoned by the idle timeout', async () => {
      const slot = await createUploadSlot({ ...deps(), accountId: 'acc_1', kind: 'image' });
      const stalled = new Readable({ read() {} });
      stalled.push(PNG_HEAD);
      const err = await apiError(receiveUpload({ ...deps({ idleTimeoutMs: 200 }), ...fromUrl(slot), stream: stalled }));
      expect(err.details).toMatchObject({ reason: 'idle_timeout' });
      expect(env.storedFiles()).toEqual([]);
    });
  });
});
