// Scheduled posts across a restart: `lavendly serve` as a real child process is killed before a
// post scheduled one second ahead fires, and started again: the post goes out exactly once.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { call } from '../helpers/server.js';
import { expectNoSecrets, insertFinishedRender, oneShot, until } from './fixtures.js';
import { childEnv, startServeProcess, type CliProcess } from './processes.js';

const YT_TOKEN = 'ya29.restart-test-access-token-never-logged';

/** `lavendly channels connect ... --json` in this process, against the child's database. */
async function connectByCli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ id: string; platform: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['channels', 'connect', ...args, '--json'], { env, out: (l) => out.push(l), err: (l) => err.push(l) });
  expect(err).toEqual([]);
  expect(code).toBe(0);
  expect(out.join('\n')).not.toContain(YT_TOKEN);
  return JSON.parse(out.join('\n'));
}

const processes: CliProcess[] = [];
let fresh: FreshDb | null = null;
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill9()));
  await fresh?.close();
  fresh = null;
});

describe.each(testDatabases())('scheduled posts survive a restart of `lavendly serve` (%s)', (kind) => {
  it('is published exactly once after the server was killed before it fired', async () => {
    fresh = await freshDb(kind);
    const env = childEnv(fresh);
    const first = await startServeProcess(env);
    processes.push(first);
    const key = (await first.waitFor(/Its API key[^:]*: (\S+)/))[1]!;
    const accountId = (await first.waitFor(/development account (\S+)/))[1]!;
    const base = `${first.origin}/v1`;

    const local = await connectByCli(env, ['--account', accountId, '--platform', 'local', '--name', 'Review folder']);
    await connectByCli(env, ['--account', accountId, '--platform', 'youtube', '--name', 'Shop', '--token', YT_TOKEN]);
    const started = Date.now();
    const wf = await call(`${base}/workflows`, { key, body: oneShot });
    const latency = Date.now() - started;
    expect(wf.status).toBe(201);
    await insertFinishedRender(fresh.db, fresh.dataDir, accountId, wf.json.id);

    // One second ahead; stretched only when this machine is so loaded that the answer itself
    // could take that long, so the kill still comes before the post falls due.
    const when = new Date(Date.now() + Math.max(1_000, 4 * latency)).toISOString();
    const pub = await call(`${base}/workflows/${wf.json.id}/publish`, { key, body: { channel_id: local.id, title: 'Fox', when } });
    expect(pub.status).toBe(202);
    expect(pub.json).toMatchObject({ status: 'scheduled', scheduled_for: when });
    await first.kill9(); // before it fires: nothing gets to clean up
    expect(Date.now()).toBeLessThan(Date.parse(when));
    expect(await fresh.db('publications').where({ id: pub.json.id }).first('status')).toEqual({ status: 'scheduled' });

    // Down while the post falls due; then started again.
    await until('the post to fall due', async () => Date.now() > Date.parse(when) + 200);
    const second = await startServeProcess(env);
    processes.push(second);
    const done = await until('the post', async () => {
      const p = await call(`${second.origin}/v1/publications/${pub.json.id}`, { key });
      return p.json?.status === 'published' || p.json?.status === 'failed' ? p.json : null;
    }, 40_000);
    expect(done).toMatchObject({ status: 'published', error: null, scheduled_for: when });
    const published = path.join(fresh.dataDir, 'published', local.id);
    expect(fs.readdirSync(published)).toEqual([`${pub.json.id}.mp4`]);
    const row = await fresh.db('publications').where({ id: pub.json.id }).first('published_at');
    expect(Date.parse(row.published_at)).toBeGreaterThanOrEqual(Date.parse(when));
    // The job is marked done just after the publication it ran.
    const jobs = await until('the job to finish', async () => {
      const rows = await fresh!.db('jobs').where({ type: 'publication.run' }).pluck('status');
      return rows.every((st: string) => st !== 'queued' && st !== 'running') ? rows : null;
    });
    expect(jobs).toEqual(['succeeded']);
    const events = await fresh.db('webhook_events').whereIn('type', ['publication.published', 'publication.failed']).pluck('type');
    expect(events).toEqual(['publication.published']);

    expect(await second.stop()).toBe(0);
    const logs = [...first.logLines(), ...second.logLines()];
    expect(logs.length).toBeGreaterThan(3);
    expectNoSecrets(logs.map((text, i) => ({ where: `serve log line ${i}`, text })), [YT_TOKEN, key]);
  }, 90_000);
});
