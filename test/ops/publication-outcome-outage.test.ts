// Found by bench/chaos.ts: PostgreSQL stopped (for 5 s) while a worker was posting a video to the
// local channel. The post was made, but writing "published" met the outage and the job failed; its
// retry found the publication claimed ("publishing") and did nothing. The publication stayed
// "publishing" for two hours, then was failed as "may or may not exist on the platform", though
// the post existed, inviting a second one. Now the outcome, known in memory, is written once the
// database answers again.
//
// The database refuses the first write of the outcome with PostgreSQL's "terminating connection
// due to administrator command" (57P01), from a trigger: a sequence (not rolled back with the
// failed statement) makes it refuse only once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nowIso } from '../../src/db/knex.js';
import { createPublishers } from '../../src/publish/publishers.js';
import { runPublication } from '../../src/publish/runner.js';
import { connectChannel, requestPublication, type PublishOptions } from '../../src/publish/service.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { refuseFirstUpdate } from '../helpers/pg-faults.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';

describe.runIf(testDatabases().includes('postgres'))('a publication whose outcome meets a database outage (PostgreSQL)', () => {
  let fresh: FreshDb;
  let options: PublishOptions;

  beforeAll(async () => {
    fresh = await freshDb('postgres');
    await fresh.db('accounts').insert({ id: 'acc_pub', name: 'pub', created_at: nowIso() });
    options = { publishers: createPublishers({ dataDir: fresh.dataDir }), secrets: { secretKey: 'test-credentials-key' } };
    await refuseFirstUpdate(fresh.db, 'refuse_first_outcome', 'publications', "new.status = 'published'");
  });
  afterAll(async () => { await fresh?.close(); });

  it('records the post it made once the database is back, instead of leaving it "publishing"', async () => {
    const videoPath = path.join(fresh.dataDir, 'renders', 'final.mp4');
    fs.mkdirSync(path.dirname(videoPath), { recursive: true });
    fs.writeFileSync(videoPath, crypto.randomBytes(20_000));
    const ch = await connectChannel(fresh.db, { accountId: 'acc_pub', platform: 'local', name: 'Folder', credentials: {} }, options.secrets);
    const pub = await requestPublication(fresh.db, {
      accountId: 'acc_pub', workflowId: 'wf_1', channelId: ch.id,
      latestRender: { id: 'rnd_1', status: 'succeeded', path: videoPath, url: null, durationS: 2 },
    }, options);

    expect(await runPublication(fresh.db, pub.id, options)).toBe('published');
    const row = await fresh.db('publications').where({ id: pub.id }).first('status', 'published_url');
    expect(row.status).toBe('published');
    expect(fs.existsSync(new URL(row.published_url))).toBe(true);
    const events = await fresh.db('webhook_events').where({ account_id: 'acc_pub' }).pluck('type');
    expect(events).toContain('publication.published');
  });

  // The two minutes it keeps offering the outcome were counted on the wall clock: a step forward
  // while the database was away gave up at once, and the post was left "publishing".
  it('keeps offering the outcome when the clock steps forward meanwhile', async () => {
    await refuseFirstUpdate(fresh.db, 'refuse_first_outcome_step', 'publications', "new.status = 'published'");
    const videoPath = path.join(fresh.dataDir, 'renders', 'step.mp4');
    fs.writeFileSync(videoPath, crypto.randomBytes(20_000));
    const ch = await connectChannel(fresh.db, { accountId: 'acc_pub', platform: 'local', name: 'Folder 2', credentials: {} }, options.secrets);
    const pub = await requestPublication(fresh.db, {
      accountId: 'acc_pub', workflowId: 'wf_2', channelId: ch.id,
      latestRender: { id: 'rnd_2', status: 'succeeded', path: videoPath, url: null, durationS: 2 },
    }, options);
    // The clock steps five minutes forward as the outcome is first written (and refused).
    const stepOnOutcome = (q: { sql: string; bindings?: unknown[] }) => {
      if (/update "publications"/.test(q.sql) && q.bindings?.includes('published')) stepWallClock(300_000);
    };
    fresh.db.on('query', stepOnOutcome);
    try {
      expect(await runPublication(fresh.db, pub.id, options)).toBe('published');
    } finally {
      fresh.db.off('query', stepOnOutcome);
      restoreWallClock();
    }
    expect(await fresh.db('publications').where({ id: pub.id }).first('status')).toEqual({ status: 'published' });
  });
});
