// The cluster's clock (the machine's on SQLite, the database server's on PostgreSQL) stepped
// forward over the stale sweep's two hours while a publication was being posted: the sweep took
// the live run's `started_at` for hours old, failed it and sent `publication.failed`; the run's
// outcome write then missed its guard, so the post it made stayed "failed" (inviting a second
// post). The run now renews a heartbeat, and the sweep fails a run only once it has seen that
// heartbeat unrenewed for a while; a dead run is still failed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nowIso } from '../../src/db/knex.js';
import { createPublishers, type Publishers } from '../../src/publish/publishers.js';
import { failStalePublications, runPublication } from '../../src/publish/runner.js';
import { connectChannel, getPublication, requestPublication, type PublishOptions } from '../../src/publish/service.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';

const ACCOUNT = 'acc_stale_step';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(testDatabases())('a clock step over the stale limit while a publication posts, on %s', (kind) => {
  let fresh: FreshDb;
  let calls: number;
  let release: () => void;
  let posting: Promise<void>;
  let options: PublishOptions;

  beforeEach(async () => {
    fresh = await freshDb(kind);
    await fresh.db('accounts').insert({ id: ACCOUNT, name: 'pub', created_at: nowIso() });
    const local = createPublishers({ dataDir: fresh.dataDir }).local;
    calls = 0;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let started = () => {};
    posting = new Promise<void>((resolve) => { started = resolve; });
    // The platform takes its time: the post is made once the test releases it.
    const publishers = {
      local: { platform: 'local', publish: async (r) => { calls++; started(); await gate; return local.publish(r); } },
    } as Publishers;
    options = { publishers, secrets: { secretKey: 'test-credentials-key' }, heartbeatMs: 20, staleConfirmMs: 0 };
  });
  afterEach(async () => {
    restoreWallClock();
    release();
    await fresh.close();
  });

  async function publication() {
    const file = path.join(fresh.dataDir, 'final.mp4');
    fs.writeFileSync(file, crypto.randomBytes(20_000));
    const ch = await connectChannel(fresh.db, { accountId: ACCOUNT, platform: 'local', name: 'Folder', credentials: {} }, options.secrets);
    return requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, latestRender: { id: 'rnd_1', path: file } }, options);
  }
  const heartbeatOf = async (id: string) => String((await fresh.db('publications').where({ id }).first('updated_at')).updated_at);

  it('leaves the live run alone: its post is recorded as published, and no failure is sent', async () => {
    const pub = await publication();
    const run = runPublication(fresh.db, pub.id, options);
    await posting;
    stepWallClock(3 * 3_600_000);
    expect(await failStalePublications(fresh.db, options)).toBe(0); // first sighting
    // The run renews its heartbeat before the sweep looks again. Read after the sweep: a value read
    // before it could be older than the one the sweep saw (a renewal in between, under load), and
    // the wait below would then end on the very value the second sweep takes for unrenewed.
    const seen = await heartbeatOf(pub.id);
    while ((await heartbeatOf(pub.id)) === seen) await sleep(10);
    expect(await failStalePublications(fresh.db, options)).toBe(0);
    release();
    expect(await run).toBe('published');
    expect(await getPublication(fresh.db, ACCOUNT, pub.id)).toMatchObject({ status: 'published' });
    expect(await fresh.db('webhook_events').where({ account_id: ACCOUNT }).pluck('type')).toEqual(['publication.published']);
    expect(calls).toBe(1);
  });

  it('still fails a dead run, once seen unrenewed on a second sweep', async () => {
    const pub = await publication();
    await fresh.db('publications').where({ id: pub.id })
      .update({ status: 'publishing', publish_step: 'posting', claim_token: 'clm_dead', started_at: nowIso(), updated_at: nowIso() });
    stepWallClock(3 * 3_600_000);
    expect(await failStalePublications(fresh.db, options)).toBe(0);
    expect(await failStalePublications(fresh.db, options)).toBe(1);
    expect(await getPublication(fresh.db, ACCOUNT, pub.id)).toMatchObject({ status: 'failed', error: { code: 'publish_interrupted' } });
    expect(calls).toBe(0);
  });
});
