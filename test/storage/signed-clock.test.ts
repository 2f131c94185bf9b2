// A media link is signed by one API process and checked by another (FileStorage), or by the S3
// store (a presigned GET). Signed on a machine whose clock had stepped an hour ahead, a link
// lived an hour too long on every other process, and S3 saw it dated an hour in the future.
// Links now take their time from the database server's clock the processes follow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followDbClock } from '../../src/db/clock.js';
import { createStorage } from '../../src/storage/open.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';

describe.skipIf(!testDatabases().includes('postgres'))('links signed on a machine whose clock stepped an hour ahead', () => {
  let fresh: FreshDb;
  let s3: TestS3;
  let unfollow = () => {};
  beforeAll(async () => {
    fresh = await freshDb('postgres');
    s3 = await startS3();
    unfollow = await followDbClock(fresh.db);
    stepWallClock(3_600_000);
  });
  afterAll(async () => {
    restoreWallClock();
    unfollow();
    await s3?.close();
    await fresh?.close();
  });

  const dbNow = async () => Number((await fresh.db.raw('select extract(epoch from clock_timestamp()) * 1000 as ms')).rows[0].ms);
  const options = { dataDir: '/nonexistent', publicBaseUrl: 'http://127.0.0.1:1', secret: Buffer.from('signed-clock-test-secret'), defaultUrlTtlS: 600 };

  it('a local link expires its TTL after the database\'s now', async () => {
    const { expiresAt } = createStorage(options).signedUrlWithExpiry('renders/r.mp4');
    expect(Math.abs(expiresAt.getTime() - (await dbNow()) - 600_000)).toBeLessThan(5_000);
  });

  it('an S3 presigned link is dated by the database\'s clock', async () => {
    const { url } = createStorage({ ...options, storage: s3.storage }).signedUrlWithExpiry('renders/r.mp4');
    const amz = new URL(url).searchParams.get('X-Amz-Date')!;
    const signedAt = Date.parse(amz.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
    expect(Math.abs(signedAt - (await dbNow()))).toBeLessThan(5_000);
  });
});
