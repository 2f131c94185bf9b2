// Found reading src/publish/runner.ts: a database outage met while a run prepared its post (loading
// the channel, or marking that it is about to post) was recorded as the final `publish_failed`,
// though nothing had reached the platform and the database would be back in seconds. Now an
// outage before posting is retried like a platform's 503.
//
// The database refuses the run's mark "about to post" once, as a server shutting down does
// (test/helpers/pg-faults.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowIso } from '../../src/db/knex.js';
import { createPublishers } from '../../src/publish/publishers.js';
import { runPublication } from '../../src/publish/runner.js';
import { connectChannel, getPublication, requestPublication, type PublishOptions } from '../../src/publish/service.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { refuseFirstUpdate } from '../helpers/pg-faults.js';

describe.runIf(testDatabases().includes('postgres'))('a publication that meets a database outage before posting (PostgreSQL)', () => {
  let fresh: FreshDb;
  let options: PublishOptions;

  beforeAll(async () => {
    fresh = await freshDb('postgres');
    await fresh.db('accounts').insert({ id: 'acc_pub', name: 'pub', created_at: nowIso() });
    options = { publishers: createPublishers({ dataDir: fresh.dataDir }), secrets: { secretKey: 'test-credentials-key' }, retryBaseMs: 1 };
    await refuseFirstUpdate(fresh.db, 'refuse_first_posting_mark', 'publications', "new.publish_step = 'posting'");
  });
  afterAll(async () => { await fresh?.close(); });

  it('is scheduled again, not failed, and posted by the retry', async () => {
    const videoPath = path.join(fresh.dataDir, 'renders', 'final.mp4');
    fs.mkdirSync(path.dirname(videoPath), { recursive: true });
    fs.writeFileSync(videoPath, crypto.randomBytes(20_000));
    const ch = await connectChannel(fresh.db, { accountId: 'acc_pub', platform: 'local', name: 'Folder', credentials: {} }, options.secrets);
    const pub = await requestPublication(fresh.db, {
      accountId: 'acc_pub', workflowId: 'wf_1', channelId: ch.id,
      latestRender: { id: 'rnd_1', status: 'succeeded', path: videoPath, url: null, durationS: 2 },
    }, options);

    expect(await runPublication(fresh.db, pub.id, options)).toBe('retry_scheduled');
    const waiting = await getPublication(fresh.db, 'acc_pub', pub.id);
    expect(waiting).toMatchObject({ status: 'scheduled', error: { code: 'database_unavailable' } });
    expect(JSON.stringify(waiting)).not.toContain('administrator');
    expect(fs.existsSync(path.join(fresh.dataDir, 'published'))).toBe(false);

    await expect.poll(() => runPublication(fresh.db, pub.id, options)).toBe('published');
    expect(fs.readdirSync(path.join(fresh.dataDir, 'published', ch.id))).toEqual([`${pub.id}.mp4`]);
  });
});
