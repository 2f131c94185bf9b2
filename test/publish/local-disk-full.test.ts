// The local channel on a full disk: the copy's ENOSPC became a non-retryable `platform_rejected`
// whose message (shown to the customer) held both of our paths. Now it is retryable, names no
// path, leaves no partial file, and the same publication lands once space is freed. The data dir
// is a small real tmpfs. Needs root.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localPublisher } from '../../src/publish/local.js';
import { PublishError, type PublishRequest } from '../../src/publish/types.js';
import { canMountTmpfs, mountTmpfs, TMPFS_SKIP_REASON, type Tmpfs } from '../helpers/tmpfs.js';

describe.skipIf(!canMountTmpfs)(`the local channel on a full disk (${canMountTmpfs ? 'tmpfs' : TMPFS_SKIP_REASON})`, () => {
  let disk: Tmpfs | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-publish-full-'));
  afterAll(() => {
    disk?.unmount();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails as retryable without naming a path, leaves nothing behind, and publishes once space is freed', async () => {
    disk = mountTmpfs(2);
    const video = path.join(dir, 'render.mp4');
    fs.writeFileSync(video, crypto.randomBytes(300_000));
    const request: PublishRequest = {
      video: { path: video, url: null, durationS: 5 }, title: 'Fox', caption: null,
      channel: { id: 'ch_full', name: 'Local', platform: 'local', credentials: {} }, publicationId: 'pub_full',
    };
    const publisher = localPublisher({ dataDir: disk.dir });
    fs.mkdirSync(path.join(disk.dir, 'published', 'ch_full'), { recursive: true });
    disk.fill(0);

    const failure = await publisher.publish(request).then(() => null, (err: unknown) => err);
    expect(failure).toBeInstanceOf(PublishError);
    expect((failure as PublishError).retryable).toBe(true);
    expect((failure as PublishError).message).toMatch(/out of disk space/);
    expect((failure as PublishError).message).not.toContain(dir);
    expect((failure as PublishError).message).not.toContain(disk.dir);
    expect(fs.readdirSync(path.join(disk.dir, 'published', 'ch_full'))).toEqual([]);

    disk.free();
    const done = await publisher.publish(request);
    expect(done.externalId).toBe('ch_full/pub_full.mp4');
    expect(fs.readdirSync(path.join(disk.dir, 'published', 'ch_full'))).toEqual(['pub_full.mp4']);
  });
});
