/**
 * The S3 driver when the store fails rather than a file being missing: a store that accepts
 * connections and never answers, one that stops sending a body half-way, one that is not running,
 * and a bucket that does not exist. Each is a real peer (a raw TCP server, s3rver behind a stalling
 * TCP relay, a stopped s3rver); every call must end within a short configured timeout as
 * StorageUnavailableError (a 503 at the edge), and never as "file missing".
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../../src/storage/s3.js';
import { FileMissingError, StorageUnavailableError } from '../../src/storage/index.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startStoreRelay } from '../helpers/store-relay.js';
import { startRawServer, tempDir, type TestServer } from '../net/servers.js';

const TIMEOUT_MS = 300;

function storageAt(s3: TestS3, overrides: { endpoint?: string; bucket?: string } = {}): S3Storage {
  return new S3Storage({
    dataDir: tempDir('lavendly-outage-'), publicBaseUrl: 'http://localhost:8090', secret: Buffer.alloc(32, 7),
    s3: { ...s3.storage, ...overrides, timeoutMs: TIMEOUT_MS },
  });
}

/** Resolves how long `p` took to reject, and with what. */
async function rejection(p: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = Date.now();
  try {
    await p;
  } catch (err) {
    return { err, ms: Date.now() - started };
  }
  throw new Error('expected a rejection');
}

describe('the S3 driver when the store fails', () => {
  let s3: TestS3;
  let silent: TestServer;
  let scratch: string;

  beforeAll(async () => {
    s3 = await startS3();
    // Accepts, reads the request, never answers.
    silent = await startRawServer(() => {});
    scratch = tempDir('lavendly-outage-src-');
  });

  afterAll(async () => {
    await silent?.close();
    await s3?.close();
  });

  it('a store that never answers: every call ends within the timeout as unavailable', async () => {
    const storage = storageAt(s3, { endpoint: silent.origin });
    const file = path.join(scratch, 'still.png');
    fs.writeFileSync(file, Buffer.alloc(64 * 1024, 1));
    for (const call of [() => storage.stat('acc_1/x.png'), () => storage.moveIn(file, 'acc_1/x.png'), () => storage.localCopy('acc_1/x.png')]) {
      const { err, ms } = await rejection(call());
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect((err as StorageUnavailableError).code).toBe('unavailable');
      expect((err as Error).message).not.toContain('127.0.0.1');
      // The SDK's own retries (3 attempts) each wait one timeout; far from the minutes it took.
      expect(ms).toBeLessThan(6_000);
    }
    expect(silent.connections).toBeGreaterThan(0);
  }, 30_000);

  it('a store that never answers costs one timeout per call, not one per try of the SDK', async () => {
    // The SDK tries a call 3 times; each try of a silent store waited a whole timeout, so a client
    // heard back after 3 (a request making two calls, after 6). The tries now share one timeout.
    const storage = storageAt(s3, { endpoint: silent.origin });
    for (const call of [() => storage.stat('acc_1/x.png'), () => storage.localCopy('acc_1/x.png'), () => storage.list('acc_1/wf_1'), () => storage.remove('acc_1/x.png')]) {
      const before = silent.connections;
      const { err } = await rejection(call());
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect((err as Error).message).not.toContain('127.0.0.1');
      expect(silent.connections - before).toBe(1);
    }
  }, 30_000);

  it('a body that stops half-way is abandoned after the idle timeout, the scratch copy gone', async () => {
    const writer = storageAt(s3);
    const src = path.join(scratch, 'clip.mp4');
    fs.writeFileSync(src, Buffer.alloc(2 * 1024 * 1024, 3));
    await writer.moveIn(src, 'acc_1/clip.mp4');
    const relay = await startStoreRelay(Number(new URL(s3.endpoint).port));
    await relay.set('stall', { stallAfterBytes: 64 * 1024 });
    try {
      const storage = storageAt(s3, { endpoint: relay.endpoint });
      const { err, ms } = await rejection(storage.localCopy('acc_1/clip.mp4'));
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect(ms).toBeLessThan(6_000);
      expect(fs.readdirSync(path.join(storage.root, '.staging'))).toEqual([]);
    } finally {
      await relay.close();
    }
  }, 30_000);

  it('a store that drops the connection during a PUT is unavailable', async () => {
    const relay = await startStoreRelay(Number(new URL(s3.endpoint).port));
    await relay.set('cut', { cutAfterBytes: 1024 * 1024 });
    try {
      const storage = storageAt(s3, { endpoint: relay.endpoint });
      const src = path.join(scratch, 'render.mp4');
      fs.writeFileSync(src, Buffer.alloc(8 * 1024 * 1024, 5));
      const { err, ms } = await rejection(storage.moveIn(src, 'acc_1/render.mp4'));
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect(String((err as Error).cause)).toMatch(/ECONNRESET|EPIPE|socket hang up/);
      expect(ms).toBeLessThan(6_000);
    } finally {
      await relay.close();
    }
  }, 30_000);

  it('a bucket that does not exist is the store failing, not a missing file; a missing key still is one', async () => {
    const storage = storageAt(s3, { bucket: 'no-such-bucket' });
    await expect(storage.stat('acc_1/clip.mp4')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(storage.read('acc_1/clip.mp4')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(storage.localCopy('acc_1/clip.mp4')).rejects.toBeInstanceOf(StorageUnavailableError);
    const good = storageAt(s3);
    expect(await good.stat('acc_1/none.mp4')).toBeNull();
    await expect(good.read('acc_1/none.mp4')).rejects.toBeInstanceOf(FileMissingError);
  });

  it('a store that is not running is unavailable, and names no address to the customer', async () => {
    const stopped = await startS3();
    const storage = storageAt(stopped);
    await stopped.close();
    const { err } = await rejection(storage.stat('acc_1/clip.mp4'));
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect((err as Error).message).toBe('The media store is unavailable right now; try again in a few seconds.');
    expect(String((err as Error).cause)).toMatch(/ECONNREFUSED/);
  });
});
