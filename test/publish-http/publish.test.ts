// Publishing over HTTP on a real server and the real job worker (as `serve` wires it): channels
// (admin-only connect, credentials never echoed), publish now / schedule, the 400 and 409 rules,
// cancel, get_workflow's publications, delete_workflow canceling scheduled posts.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startJobWorker } from '../../src/cli/commands/worker.js';
import { createLogger } from '../../src/http/logging.js';
import type { RunningWorker } from '../../src/jobs/worker-main.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { expectNoSecrets, insertFinishedRender, oneShot, until } from './fixtures.js';
import { withWorkerEnv } from '../helpers/config.js';

const YT_SECRET = 'ya29.a0AfH6SMB-never-show-this-token';
const YT_REFRESH = '1//0g-refresh-token-keep-it-sealed';
const YT_CLIENT_SECRET = 'GOCSPX-client-secret-sealed';

describe.each(testDatabases())('publishing over HTTP (%s)', (kind) => {
  let server: TestServer;
  let worker: RunningWorker | null = null;
  let user: { id: string; key: string };
  let admin: { id: string; key: string };
  const responses: { where: string; text: string }[] = [];

  async function api(url: string, init: Parameters<typeof call>[1] = {}) {
    const r = await call(`${server.base}${url}`, init);
    responses.push({ where: `${init.method ?? (init.body !== undefined ? 'POST' : 'GET')} ${url}`, text: r.text });
    return r;
  }

  beforeEach(async () => {
    server = await startTestServer(kind);
    user = await server.account({ name: 'Fox & Folio' });
    admin = await server.account({ name: 'Operator', scopes: ['admin'] });
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line.trim()) server.logs.push(JSON.parse(line));
        cb();
      },
    });
    worker = await startJobWorker({
      config: withWorkerEnv(server.config, { ...process.env, LAVENDLY_WORKER_POLL_MS: '25' }), logger: createLogger({ level: 'info', destination: sink }),
      db: server.fresh.db, composed: server,
    });
  });
  afterEach(async () => {
    await worker?.stop({ abortAfterMs: 2_000 });
    worker = null;
    await server.close();
    responses.length = 0;
  });

  async function workflowWithRender(): Promise<string> {
    const wf = await api('/workflows', { key: user.key, body: oneShot });
    expect(wf.status).toBe(201);
    await insertFinishedRender(server.fresh.db, server.config.dataDir, user.id, wf.json.id);
    return wf.json.id;
  }

  async function connect(platform: string, name: string, credentials: Record<string, unknown> = {}) {
    return api('/channels', { key: admin.key, body: { account_id: user.id, platform, name, credentials } });
  }

  it('connects channels with an admin key only, and never answers credentials', async () => {
    const empty = await api('/channels', { key: user.key });
    expect(empty.json).toEqual({ connected: false, data: [] });

    const credentials = { access_token: YT_SECRET, refresh_token: YT_REFRESH, client_id: 'cid.apps.googleusercontent.com', client_secret: YT_CLIENT_SECRET };
    const refused = await api('/channels', { key: user.key, body: { account_id: user.id, platform: 'youtube', name: 'Shop', credentials } });
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('forbidden');

    const unknownAccount = await api('/channels', { key: admin.key, body: { account_id: 'acc_nobody', platform: 'local', name: 'x', credentials: {} } });
    expect(unknownAccount.status).toBe(404);
    const noToken = await connect('tiktok', 'Clips', { note: 'no token here' });
    expect(noToken.status).toBe(400);

    const yt = await connect('youtube', 'Shop', credentials);
    expect(yt.status).toBe(201);
    expect(Object.keys(yt.json).sort()).toEqual(['created_at', 'id', 'name', 'platform']);
    const local = await connect('local', 'Review folder');
    expect(local.status).toBe(201);

    const list = await api('/channels', { key: user.key });
    expect(list.json.connected).toBe(true);
    expect(list.json.data.map((c: any) => [c.platform, c.name])).toEqual([['youtube', 'Shop'], ['local', 'Review folder']]);
    // Another account sees none of them.
    const other = await server.account();
    expect((await api('/channels', { key: other.key })).json).toEqual({ connected: false, data: [] });

    // Sealed at rest too.
    const row = await server.fresh.db('channels').where({ id: yt.json.id }).first('credentials_sealed');
    expect(row.credentials_sealed).not.toContain(YT_SECRET);
    const logs = server.logs.map((l, i) => ({ where: `log line ${i}`, text: JSON.stringify(l) }));
    expectNoSecrets([...responses, ...logs], [YT_SECRET, YT_REFRESH, YT_CLIENT_SECRET, user.key, admin.key, other.key]);
  });

  it('publishes now to the local channel: a file in the data dir and a published URL', async () => {
    const wfId = await workflowWithRender();
    const ch = (await connect('local', 'Review folder')).json;
    const res = await api(`/workflows/${wfId}/publish`, {
      key: user.key, body: { channel_id: ch.id, title: 'The Bookshop Fox', caption: 'Made with Lavendly.' }, headers: { 'Idempotency-Key': 'post-1' },
    });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ workflow_id: wfId, channel_id: ch.id, platform: 'local', scheduled_for: null, ai_disclosure: true });
    expect(['scheduled', 'publishing', 'published']).toContain(res.json.status);
    // A retry with the same key is the same answer, not a second post.
    const again = await api(`/workflows/${wfId}/publish`, {
      key: user.key, body: { channel_id: ch.id, title: 'The Bookshop Fox', caption: 'Made with Lavendly.' }, headers: { 'Idempotency-Key': 'post-1' },
    });
    expect(again.text).toBe(res.text);

    const done = await until('the post', async () => {
      const p = await api(`/publications/${res.json.id}`, { key: user.key });
      return ['published', 'failed'].includes(p.json.status) ? p.json : null;
    });
    expect(done).toMatchObject({ status: 'published', error: null });
    const file = fileURLToPath(done.published_url);
    expect(file).toBe(path.join(server.config.dataDir, 'published', ch.id, `${res.json.id}.mp4`));
    expect(fs.statSync(file).size).toBeGreaterThan(1000);
    expect(Number((await server.fresh.db('publications').count({ n: '*' }).first())!.n)).toBe(1);

    // An agent without get_publication reads it back on the workflow.
    const wf = await api(`/workflows/${wfId}`, { key: user.key });
    expect(wf.json.publications).toEqual([{
      id: res.json.id, channel_id: ch.id, platform: 'local', status: 'published', scheduled_for: null, published_url: done.published_url, error: null,
    }]);
    // Another account cannot see it.
    const other = await server.account();
    expect((await api(`/publications/${res.json.id}`, { key: other.key })).status).toBe(404);
    expect((await api(`/workflows/${wfId}/publish`, { key: other.key, body: { channel_id: ch.id } })).status).toBe(404);
  });

  it('refuses without a finished render (409), a past or far `when` (400), an unknown channel (404)', async () => {
    const ch = (await connect('local', 'Review folder')).json;
    const wf = await api('/workflows', { key: user.key, body: oneShot });
    const noRender = await api(`/workflows/${wf.json.id}/publish`, { key: user.key, body: { channel_id: ch.id } });
    expect(noRender.status).toBe(409);
    expect(noRender.json.error.code).toBe('no_finished_render');

    await insertFinishedRender(server.fresh.db, server.config.dataDir, user.id, wf.json.id);
    const past = await api(`/workflows/${wf.json.id}/publish`, { key: user.key, body: { channel_id: ch.id, when: new Date(Date.now() - 3_600_000).toISOString() } });
    expect(past.status).toBe(400);
    expect(past.json.error.code).toBe('schedule_in_past');
    const far = await api(`/workflows/${wf.json.id}/publish`, { key: user.key, body: { channel_id: ch.id, when: '2099-01-01T09:00:00Z' } });
    expect(far.status).toBe(400);
    expect(far.json.error.code).toBe('schedule_too_far');
    const garbage = await api(`/workflows/${wf.json.id}/publish`, { key: user.key, body: { channel_id: ch.id, when: 'tomorrow at nine' } });
    expect(garbage.status).toBe(400);
    expect(garbage.json.error.code).toBe('validation_error');
    const unknown = await api(`/workflows/${wf.json.id}/publish`, { key: user.key, body: { channel_id: 'ch_nope' } });
    expect(unknown.status).toBe(404);
    const unknownWf = await api('/workflows/wf_nope/publish', { key: user.key, body: { channel_id: ch.id } });
    expect(unknownWf.status).toBe(404);
    expect(await server.fresh.db('publications').count({ n: '*' }).first().then((r) => Number(r!.n))).toBe(0);
  });

  it('cancels a scheduled post before it runs; delete_workflow cancels the rest', async () => {
    const wfId = await workflowWithRender();
    const ch = (await connect('local', 'Review folder')).json;
    const when = new Date(Date.now() + 3_000).toISOString();
    const scheduled = await api(`/workflows/${wfId}/publish`, { key: user.key, body: { channel_id: ch.id, when } });
    expect(scheduled.status).toBe(202);
    expect(scheduled.json).toMatchObject({ status: 'scheduled', scheduled_for: when });
    const canceled = await api(`/publications/${scheduled.json.id}/cancel`, { key: user.key, method: 'POST' });
    expect(canceled.status).toBe(200);
    expect(canceled.json.status).toBe('canceled');
    expect((await api(`/publications/${scheduled.json.id}/cancel`, { key: user.key, method: 'POST' })).json.status).toBe('canceled');

    const later = await api(`/workflows/${wfId}/publish`, { key: user.key, body: { channel_id: ch.id, when: new Date(Date.now() + 3_000).toISOString() } });
    expect((await api(`/workflows/${wfId}`, { key: user.key })).json.publications.map((p: any) => p.status)).toEqual(['scheduled', 'canceled']);
    expect((await api(`/workflows/${wfId}`, { key: user.key, method: 'DELETE' })).status).toBe(204);
    expect((await api(`/publications/${later.json.id}`, { key: user.key })).json.status).toBe('canceled');

    // Past both due times, the job ran and found nothing to post.
    await until('the jobs to run', async () => {
      const jobs = await server.fresh.db('jobs').where({ type: 'publication.run' }).select('status');
      return jobs.length === 2 && jobs.every((j) => j.status === 'succeeded');
    });
    expect(fs.existsSync(path.join(server.config.dataDir, 'published'))).toBe(false);
    const types = await server.fresh.db('webhook_events').orderBy('created_at').pluck('type');
    expect(types.filter((t: string) => t === 'publication.canceled')).toHaveLength(2);
  });
});
