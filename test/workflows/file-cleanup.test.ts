/**
 * A deleted workflow's files when the media store does not answer (a real listener that accepts
 * and never answers, in front of nothing): the DELETE tries the store once, not once per key
 * (each try of a silent store holds the request for a whole timeout), and every key it could
 * not remove is handed to the removal job, on a real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../../src/storage/s3.js';
import { REMOVE_FILES_JOB, removeWorkflowFiles } from '../../src/workflows/file-cleanup.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { startRawServer, tempDir, type TestServer } from '../net/servers.js';

describe.each(testDatabases())('removing a deleted workflow\'s files from a silent store (%s)', (kind) => {
  let s3: TestS3;
  let silent: TestServer;
  let fresh: FreshDb;

  beforeAll(async () => {
    s3 = await startS3();
    silent = await startRawServer(() => {});
    fresh = await freshDb(kind);
  }, 60_000);

  afterAll(async () => {
    await fresh?.close();
    await silent?.close();
    await s3?.close();
  });

  it('asks the store once, then hands every key to the removal job', async () => {
    const storage = new S3Storage({
      dataDir: tempDir('lavendly-cleanup-'), publicBaseUrl: 'http://localhost:8090', secret: Buffer.alloc(32, 7),
      s3: { ...s3.storage, endpoint: silent.origin, timeoutMs: 300 },
    });
    const keys = ['acc_1/wf_1', 'acc_1/frames/wf_1', 'acc_1/renders/rnd_1.mp4', 'acc_1/renders/rnd_2.mp4'];
    const warnings: string[] = [];
    await removeWorkflowFiles({ db: fresh.db, storage, log: { warn: (_obj, msg) => warnings.push(msg) } }, 'wf_1', keys);
    expect(silent.connections).toBe(1);
    expect(warnings).toHaveLength(1);
    const job = await fresh.db('jobs').where({ type: REMOVE_FILES_JOB }).first();
    expect(JSON.parse(job.payload)).toEqual({ workflow_id: 'wf_1', keys });
  }, 30_000);
});
