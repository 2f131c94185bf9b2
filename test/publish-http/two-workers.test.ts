// Two `lavendly worker` processes on PostgreSQL race for due scheduled posts: each is still
// uploaded exactly once (counted by a local stand-in for YouTube's upload API).
import { afterEach, describe, expect, it } from 'vitest';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { mockYouTube } from '../publish/platforms.js';
import { expectNoSecrets, insertFinishedRender, oneShot, until } from './fixtures.js';
import { childEnv, spawnCli, type CliProcess } from './processes.js';

const YT_TOKEN = 'ya29.two-workers-access-token-never-logged';

const processes: CliProcess[] = [];
let fresh: FreshDb | null = null;
let server: TestServer | null = null;
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill9()));
  await server?.close();
  server = null;
  await fresh?.close();
  fresh = null;
});

describe.runIf(testDatabases().includes('postgres'))('two `lavendly worker` processes on PostgreSQL', () => {
  it('publish each due post exactly once', async () => {
    fresh = await freshDb('postgres');
    const yt = await mockYouTube({ token: YT_TOKEN });
    try {
      // The API in this process (no worker); the work is done by two worker processes only.
      server = await startTestServer('postgres', { fresh });
      const user = await server.account();
      const admin = await server.account({ scopes: ['admin'] });
      const env = childEnv(fresh, { LAVENDLY_YOUTUBE_API_URL: yt.baseUrl, LAVENDLY_WORKER_POLL_MS: '20' });
      const workers = [spawnCli(['worker'], env), spawnCli(['worker'], env)];
      processes.push(...workers);
      await Promise.all(workers.map((w) => w.waitFor(/worker \S+ running/)));

      const wf = await call(`${server.base}/workflows`, { key: user.key, body: oneShot });
      await insertFinishedRender(fresh.db, fresh.dataDir, user.id, wf.json.id);
      const when = new Date(Date.now() + 1_000).toISOString();
      const ids: string[] = [];
      for (const name of ['Shop', 'Shop (EU)', 'Shop (US)']) {
        const ch = await call(`${server.base}/channels`, {
          key: admin.key, body: { account_id: user.id, platform: 'youtube', name, credentials: { access_token: YT_TOKEN } },
        });
        expect(ch.status).toBe(201);
        const pub = await call(`${server.base}/workflows/${wf.json.id}/publish`, {
          key: user.key, body: { channel_id: ch.json.id, title: `Fox for ${name}`, when },
        });
        expect(pub.status).toBe(202);
        ids.push(pub.json.id);
      }
      const done = await until('every post', async () => {
        const rows = await fresh!.db('publications').whereIn('id', ids).select('id', 'status', 'published_url', 'error');
        return rows.every((r) => r.status === 'published' || r.status === 'failed') ? rows : null;
      }, 40_000);
      expect(done.map((r) => [r.status, r.error])).toEqual(ids.map(() => ['published', null]));
      expect(yt.problems).toEqual([]);
      // One upload session and one upload per post, never two.
      const sessions = yt.exchanges.filter((e) => e.method === 'POST');
      const uploads = yt.exchanges.filter((e) => e.method === 'PUT');
      expect(sessions).toHaveLength(3);
      expect(uploads).toHaveLength(3);
      expect(sessions.map((s) => JSON.parse(s.body.toString()).snippet.title).sort()).toEqual(['Fox for Shop', 'Fox for Shop (EU)', 'Fox for Shop (US)']);
      // The job is marked done just after the publication it ran.
      const jobs = await until('the jobs to finish', async () => {
        const rows = await fresh!.db('jobs').where({ type: 'publication.run' }).pluck('status');
        return rows.every((st: string) => st !== 'queued' && st !== 'running') ? rows : null;
      });
      expect(jobs).toEqual(['succeeded', 'succeeded', 'succeeded']);
      const events = await fresh.db('webhook_events').where({ type: 'publication.published' }).count({ n: '*' }).first();
      expect(Number(events!.n)).toBe(3);

      await Promise.all(workers.map((w) => w.stop()));
      const logs = workers.flatMap((w) => w.logLines());
      const http = server.logs.map((l) => JSON.stringify(l));
      expectNoSecrets([...logs, ...http].map((text, i) => ({ where: `log line ${i}`, text })), [YT_TOKEN, user.key, admin.key]);
    } finally {
      await yt.close();
    }
  }, 90_000);
});
