/**
 * A publication that failed on our own disk told the customer (its `error`, the webhook) the file
 * system's words with the server's paths: "Publishing failed: ENOTDIR: not a directory, mkdir
 * '/srv/lavendly/data/published/ch_...'". The message keeps what failed, not the directory.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nowIso } from '../../src/db/knex.js';
import { createPublishers } from '../../src/publish/publishers.js';
import { runDuePublications } from '../../src/publish/runner.js';
import { connectChannel, getPublication, requestPublication, type PublishOptions } from '../../src/publish/service.js';
import { hideFromCustomers } from '../../src/util/local-paths.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';

const ACCOUNT = 'acc_pubfail';

describe.each(testDatabases())('a publication failed by the server\'s disk on %s', (kind) => {
  let fresh: FreshDb;
  beforeEach(async () => {
    fresh = await freshDb(kind);
    await fresh.db('accounts').insert({ id: ACCOUNT, name: 'pub', created_at: nowIso() });
  });
  afterEach(async () => {
    await fresh.close();
  });

  it('names no directory of the server', async () => {
    hideFromCustomers(fresh.dataDir); // as serve and the worker do (src/app/compose.ts)
    const videoPath = path.join(fresh.dataDir, 'renders', 'final.mp4');
    fs.mkdirSync(path.dirname(videoPath), { recursive: true });
    fs.writeFileSync(videoPath, crypto.randomBytes(10_000));
    // A file where the local channel's folder must go: mkdir fails naming the full path.
    fs.writeFileSync(path.join(fresh.dataDir, 'published'), '');
    const options: PublishOptions = { publishers: createPublishers({ dataDir: fresh.dataDir }), secrets: { secretKey: 'k' } };
    const ch = await connectChannel(fresh.db, { accountId: ACCOUNT, platform: 'local', name: 'local', credentials: {} }, options.secrets);
    const render = { id: 'rnd_1', status: 'succeeded' as const, path: videoPath, url: null, durationS: 5 };
    const pub = await requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, latestRender: render }, options);

    expect(await runDuePublications(fresh.db, options)).toEqual(['failed']);
    const failed = await getPublication(fresh.db, ACCOUNT, pub.id);
    expect(failed.error?.message).toMatch(/^Publishing failed: ENOTDIR: .*'…\/published\//);
    expect(JSON.stringify(failed)).not.toContain(fresh.dataDir);
    const event = await fresh.db('webhook_events').where({ type: 'publication.failed' }).first('payload');
    expect(String(event.payload)).toContain('…/published/');
    expect(String(event.payload)).not.toContain(fresh.dataDir);
  });
});
