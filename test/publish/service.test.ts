import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDb, nowIso } from '../../src/db/knex.js';
import { createPublishers } from '../../src/publish/publishers.js';
import { failStalePublications, runDuePublications, runPublication } from '../../src/publish/runner.js';
import {
  cancelPublication, connectChannel, getPublication, listChannels, listPublications, requestPublication, resolveWhen,
  type FinishedRender, type PublishOptions,
} from '../../src/publish/service.js';
import { PublishError, type Publisher, type PublishRequest } from '../../src/publish/types.js';
import { createEndpoint, getDelivery, runDueDeliveries } from '../../src/webhooks/index.js';
import { startReceiver } from '../webhooks/receiver.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { mockYouTube } from './platforms.js';
import { S3Storage } from '../../src/storage/s3.js';
import { startS3 } from '../helpers/s3.js';
import { startStoreRelay } from '../helpers/store-relay.js';

const ACCOUNT = 'acc_pub';
const SECRET_KEY = 'test-credentials-key';
const TOKEN = 'ya29.secret-oauth-token';

/** A publisher that counts its calls (slowly, so racing runners overlap). */
function countingPublisher(platform: 'youtube', behave: (n: number) => Promise<void> = async () => {}): Publisher & { calls: PublishRequest[] } {
  const calls: PublishRequest[] = [];
  return {
    platform,
    calls,
    async publish(request) {
      calls.push(request);
      await behave(calls.length);
      await new Promise((r) => setTimeout(r, 50));
      return { externalId: `vid_${calls.length}`, url: `https://videos.example/${calls.length}` };
    },
  };
}

/** Starts `n` processes, waits until each says `ready`, tells them all to go, returns their outcomes. */
async function raceProcesses(n: number, start: () => ChildProcess): Promise<string[]> {
  const children = Array.from({ length: n }, start);
  // Per child: a function answering its next stdout line.
  const lines = children.map((c) => {
    let buffered = '';
    const waiters: ((line: string) => void)[] = [];
    c.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let i;
      while ((i = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        waiters.shift()?.(line);
      }
    });
    return () => new Promise<string>((resolve, reject) => {
      waiters.push(resolve);
      c.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
  });
  const ready = await Promise.all(lines.map((nextLine) => nextLine()));
  expect(ready).toEqual(Array(n).fill('ready'));
  const results = lines.map((nextLine) => nextLine());
  for (const c of children) c.stdin!.write('go\n');
  return (await Promise.all(results)).map((line) => JSON.parse(line).outcome as string);
}

describe.each(testDatabases())('publishing on %s', (kind) => {
  let fresh: FreshDb;
  let render: FinishedRender;
  let options: PublishOptions;

  beforeEach(async () => {
    fresh = await freshDb(kind);
    await fresh.db('accounts').insert([
      { id: ACCOUNT, name: 'pub', created_at: nowIso() },
      { id: 'acc_other', name: 'other', created_at: nowIso() },
    ]);
    const videoPath = path.join(fresh.dataDir, 'renders', 'final.mp4');
    fs.mkdirSync(path.dirname(videoPath), { recursive: true });
    fs.writeFileSync(videoPath, crypto.randomBytes(50_000));
    render = { id: 'rnd_1', status: 'succeeded', path: videoPath, url: null, durationS: 15 };
    options = { publishers: createPublishers({ dataDir: fresh.dataDir }), secrets: { secretKey: SECRET_KEY } };
  });
  afterEach(async () => {
    await fresh.close();
  });

  async function channel(platform: 'local' | 'youtube', accountId = ACCOUNT) {
    return connectChannel(fresh.db, { accountId, platform, name: `${platform} channel`, credentials: platform === 'local' ? {} : { access_token: TOKEN } }, options.secrets);
  }

  it('keeps credentials sealed and out of every answer', async () => {
    expect(await listChannels(fresh.db, ACCOUNT)).toEqual({ connected: false, data: [] });
    const ch = await channel('youtube');
    const list = await listChannels(fresh.db, ACCOUNT);
    expect(list.connected).toBe(true);
    expect(list.data).toEqual([{ id: ch.id, platform: 'youtube', name: 'youtube channel', created_at: ch.created_at }]);
    expect(JSON.stringify([ch, list])).not.toContain(TOKEN);
    const stored = JSON.stringify(await fresh.db('channels').select());
    expect(stored).not.toContain(TOKEN);
    expect(stored).not.toContain('access_token');
    await expect(connectChannel(fresh.db, { accountId: ACCOUNT, platform: 'tiktok', name: 'x', credentials: {} }, options.secrets))
      .rejects.toMatchObject({ code: 'validation_error' });
    expect((await listChannels(fresh.db, 'acc_other')).connected).toBe(false);
  });

  it('requires a finished render and a sensible `when`', async () => {
    const ch = await channel('local');
    const base = { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id };
    await expect(requestPublication(fresh.db, { ...base, latestRender: null }, options))
      .rejects.toMatchObject({ code: 'no_finished_render' });
    await expect(requestPublication(fresh.db, { ...base, latestRender: { ...render, status: 'running' } }, options))
      .rejects.toMatchObject({ code: 'no_finished_render' });
    for (const [when, code] of [
      [new Date(Date.now() - 5 * 60_000).toISOString(), 'schedule_in_past'],
      [new Date(Date.now() + 100 * 86_400_000).toISOString(), 'schedule_too_far'],
      ['tomorrow', 'validation_error'],
      ['2030-13-45T00:00:00Z', 'validation_error'],
    ] as const) {
      await expect(requestPublication(fresh.db, { ...base, when, latestRender: render }, options), when)
        .rejects.toMatchObject({ code });
    }
    // Within the clock-skew allowance: scheduled for now.
    const slight = await requestPublication(fresh.db, { ...base, when: new Date(Date.now() - 20_000).toISOString(), latestRender: render }, options);
    expect(Math.abs(new Date(slight.scheduled_for!).getTime() - Date.now())).toBeLessThan(5_000);
    expect(resolveWhen('2030-01-02T09:00:00+02:00', {}, Date.parse('2030-01-01T00:00:00Z')).toISOString()).toBe('2030-01-02T07:00:00.000Z');
    // Another account's channel does not exist for this one.
    const foreign = await channel('local', 'acc_other');
    await expect(requestPublication(fresh.db, { ...base, channelId: foreign.id, latestRender: render }, options))
      .rejects.toMatchObject({ code: 'not_found' });
    expect((await listPublications(fresh.db, { accountId: ACCOUNT })).data).toHaveLength(1);
  });

  it('publishes to the local channel, records the URL, and emits the event in the same transaction', async () => {
    const receiver = await startReceiver(() => 200);
    try {
      const endpoint = await createEndpoint(fresh.db, { accountId: ACCOUNT, url: receiver.url, events: ['publication.published'] }, { addressPolicy: { allowLoopback: true } });
      const ch = await channel('local');
      const pub = await requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, caption: 'Fox!', latestRender: render }, options);
      expect(pub).toMatchObject({ status: 'scheduled', platform: 'local', render_id: 'rnd_1', caption: 'Fox!', published_url: null, scheduled_for: null, ai_disclosure: true, error: null });
      expect(await runDuePublications(fresh.db, options)).toEqual(['published']);
      const done = await getPublication(fresh.db, ACCOUNT, pub.id);
      expect(done).toMatchObject({ status: 'published', error: null });
      expect(await fresh.db('publications').where({ id: pub.id }).first('external_id')).toEqual({ external_id: `${ch.id}/${pub.id}.mp4` });
      const file = fileURLToPath(done.published_url!);
      expect(file).toBe(path.join(fresh.dataDir, 'published', ch.id, `${pub.id}.mp4`));
      expect(fs.readFileSync(file).equals(fs.readFileSync(render.path))).toBe(true);
      // Running it again does nothing.
      expect(await runPublication(fresh.db, pub.id, options)).toBe('not_claimed');

      const delivery = await fresh.db('webhook_deliveries').where({ endpoint_id: endpoint.id }).first();
      await runDueDeliveries(fresh.db, { addressPolicy: { allowLoopback: true } });
      expect((await getDelivery(fresh.db, ACCOUNT, delivery.id)).status).toBe('succeeded');
      const body = JSON.parse(receiver.requests[0]!.body);
      expect(body).toMatchObject({ type: 'publication.published', data: { publication_id: pub.id, status: 'published', url: done.published_url } });
    } finally {
      await receiver.close();
    }
  });

  it('retries a post whose render the media store could not hand over, then publishes it', async () => {
    const s3 = await startS3();
    const relay = await startStoreRelay(Number(new URL(s3.endpoint).port));
    try {
      const storage = new S3Storage({
        dataDir: fresh.dataDir, publicBaseUrl: 'http://127.0.0.1:1', secret: crypto.randomBytes(32),
        s3: { ...s3.storage, endpoint: relay.endpoint, timeoutMs: 300 },
      });
      const copy = path.join(fresh.dataDir, 'upload.mp4');
      fs.copyFileSync(render.path, copy);
      await storage.moveIn(copy, 'renders/final.mp4');
      const opts = { ...options, storage, retryBaseMs: 10 };
      const ch = await channel('local');
      const stored = { ...render, path: 'store:renders/final.mp4' };
      const pub = await requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, latestRender: stored }, opts);

      await relay.set('down');
      expect(await runPublication(fresh.db, pub.id, opts)).toBe('retry_scheduled');
      const waiting = await getPublication(fresh.db, ACCOUNT, pub.id);
      expect(waiting).toMatchObject({ status: 'scheduled', error: { code: 'storage_unavailable', message: expect.stringMatching(/media store is unavailable/) } });
      expect(JSON.stringify(waiting)).not.toContain('127.0.0.1');

      await relay.set('pass');
      await new Promise((r) => setTimeout(r, 30));
      expect(await runDuePublications(fresh.db, opts)).toEqual(['published']);
      const done = await getPublication(fresh.db, ACCOUNT, pub.id);
      expect(done).toMatchObject({ status: 'published', error: null });
      expect(fs.readFileSync(fileURLToPath(done.published_url!)).equals(fs.readFileSync(render.path))).toBe(true);
    } finally {
      await relay.close();
      await s3.close();
    }
  });

  it('cancels a scheduled post before it runs, and not after', async () => {
    const ch = await channel('local');
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const pub = await requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, when: later, latestRender: render }, options);
    expect(pub.scheduled_for).toBe(later);
    expect(await runDuePublications(fresh.db, options)).toEqual([]); // not due yet
    expect(await runPublication(fresh.db, pub.id, options)).toBe('not_due');
    const canceled = await cancelPublication(fresh.db, ACCOUNT, pub.id);
    expect(canceled).toMatchObject({ status: 'canceled' });
    expect(await runPublication(fresh.db, pub.id, options)).toBe('not_claimed');
    expect(await cancelPublication(fresh.db, ACCOUNT, pub.id)).toEqual(canceled); // unchanged
    await expect(cancelPublication(fresh.db, 'acc_other', pub.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(fs.existsSync(path.join(fresh.dataDir, 'published'))).toBe(false);
  });

  it('publishes once when runners race (two connection pools)', async () => {
    const youtube = countingPublisher('youtube');
    const opts = { ...options, publishers: { ...options.publishers!, youtube } };
    const ch = await channel('youtube');
    const pub = await requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, title: 'Fox', latestRender: render }, opts);
    const second = createDb({ databaseUrl: fresh.databaseUrl, dataDir: fresh.dataDir });
    try {
      const outcomes = await Promise.all([
        ...Array.from({ length: 4 }, () => runPublication(fresh.db, pub.id, opts)),
        ...Array.from({ length: 4 }, () => runPublication(second, pub.id, opts)),
      ]);
      expect(outcomes.filter((o) => o === 'published')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'not_claimed')).toHaveLength(7);
    } finally {
      await second.destroy();
    }
    expect(youtube.calls).toHaveLength(1);
    expect(youtube.calls[0]!.channel.credentials).toEqual({ access_token: TOKEN });
    expect(await getPublication(fresh.db, ACCOUNT, pub.id)).toMatchObject({ status: 'published', published_url: 'https://videos.example/1' });
  });

  it('publishes once when separate processes race', async () => {
    const yt = await mockYouTube({ token: TOKEN });
    try {
      const ch = await channel('youtube');
      const pub = await requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, title: 'Fox', latestRender: render }, options);
      const env = {
        ...process.env, DATABASE_URL: fresh.databaseUrl ?? '', LAVENDLY_DATA_DIR: fresh.dataDir,
        LAVENDLY_YOUTUBE_API_URL: yt.baseUrl, LAVENDLY_CREDENTIALS_KEY: SECRET_KEY,
      };
      const tsx = path.resolve('node_modules/.bin/tsx');
      const child = fileURLToPath(new URL('./race-child.ts', import.meta.url));
      const outcomes = await raceProcesses(2, () => spawn(tsx, [child, pub.id], { env, stdio: ['pipe', 'pipe', 'inherit'] }));
      expect(outcomes.sort()).toEqual(['not_claimed', 'published']);
      expect(yt.problems).toEqual([]);
      expect(yt.exchanges.filter((e) => e.method === 'POST')).toHaveLength(1);
      expect(await getPublication(fresh.db, ACCOUNT, pub.id)).toMatchObject({
        status: 'published', published_url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
      });
    } finally {
      await yt.close();
    }
  }, 40_000);

  it('stores renewed tokens sealed, and keeps tokens out of error messages', async () => {
    const yt = await mockYouTube({ token: 'fresh-token', sessionAnswer: { status: 403, json: { error: { message: 'quota exceeded for token fresh-token' } } } });
    try {
      const opts = { ...options, publishers: createPublishers({ dataDir: fresh.dataDir, youtube: { apiBaseUrl: yt.baseUrl, tokenUrl: `${yt.baseUrl}/token` } }) };
      const ch = await connectChannel(fresh.db, {
        accountId: ACCOUNT, platform: 'youtube', name: 'refreshing',
        credentials: { refresh_token: 'refresh-1', client_id: 'app-id', client_secret: 'app-secret' },
      }, options.secrets);
      const pub = await requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, latestRender: render }, opts);
      expect(await runPublication(fresh.db, pub.id, opts)).toBe('failed');
      const failed = await getPublication(fresh.db, ACCOUNT, pub.id);
      expect(failed.error).toEqual({ code: 'channel_auth_failed', message: expect.stringContaining('[redacted]') });
      expect(JSON.stringify(failed)).not.toContain('fresh-token');
      const stored = JSON.stringify(await fresh.db('channels').where({ id: ch.id }).first());
      expect(stored).not.toContain('fresh-token');
      const { loadChannelForPublish } = await import('../../src/publish/channels.js');
      expect((await loadChannelForPublish(fresh.db, ch.id, options.secrets)).credentials).toMatchObject({ access_token: 'fresh-token', refresh_token: 'refresh-1' });
    } finally {
      await yt.close();
    }
  });

  it('retries only failures the platform cannot have acted on; fails the rest; fails stale runs', async () => {
    const youtube = countingPublisher('youtube', async (n) => {
      if (n === 1) throw new PublishError('YouTube upload session failed with HTTP 503', true, 503);
      if (n === 2) throw new PublishError('YouTube upload failed with HTTP 400', false, 400);
    });
    const opts = { ...options, publishers: { ...options.publishers!, youtube }, retryBaseMs: 10 };
    const ch = await channel('youtube');
    const pub = await requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, latestRender: render }, opts);
    expect(await runPublication(fresh.db, pub.id, opts)).toBe('retry_scheduled');
    expect(await getPublication(fresh.db, ACCOUNT, pub.id)).toMatchObject({ status: 'scheduled', error: { code: 'platform_unavailable', message: expect.stringMatching(/503/) } });
    await new Promise((r) => setTimeout(r, 30));
    expect(await runDuePublications(fresh.db, opts)).toEqual(['failed']);
    const failed = await getPublication(fresh.db, ACCOUNT, pub.id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'platform_rejected', message: 'YouTube upload failed with HTTP 400' } });
    expect(JSON.stringify(failed)).not.toContain(TOKEN);
    const events = await fresh.db('webhook_events').where({ account_id: ACCOUNT }).pluck('type');
    expect(events).toEqual(['publication.failed']);

    // A runner that died mid-publish leaves `publishing`: it is failed after a while, never re-run.
    const stuck = await requestPublication(fresh.db, { accountId: ACCOUNT, workflowId: 'wf_1', channelId: ch.id, latestRender: render }, opts);
    await fresh.db('publications').where({ id: stuck.id }).update({ status: 'publishing', claim_token: 'clm_dead', started_at: new Date(Date.now() - 3 * 3_600_000).toISOString() });
    // Seen stale and unrenewed on two sweeps (the first only notes it).
    expect(await failStalePublications(fresh.db, { ...opts, staleConfirmMs: 0 })).toBe(0);
    expect(await failStalePublications(fresh.db, { ...opts, staleConfirmMs: 0 })).toBe(1);
    expect(await getPublication(fresh.db, ACCOUNT, stuck.id)).toMatchObject({ status: 'failed', error: { code: 'publish_interrupted', message: expect.stringMatching(/interrupted/) } });
    expect(youtube.calls).toHaveLength(2);
  });
});
