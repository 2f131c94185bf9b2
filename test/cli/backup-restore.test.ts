/**
 * `lavendly backup` against a real `serve` that keeps writing, then a restore from the copy the
 * way the README says: a fresh LAVENDLY_DATA_DIR holding the copy as lavendly.sqlite, with the
 * data dir's secrets and its files directory copied after the database. The copy must open, pass
 * integrity_check and hold every row committed before the backup started; the restored server
 * must answer with the old keys, serve a file uploaded before the backup, and finish the
 * generation whose job was leased at backup time (same provider task, charged once).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { credentialsKey, openCredentials } from '../../src/publish/credentials.js';
import { runCli } from '../helpers/cli-run.js';
import { call, freePort } from '../helpers/server.js';
import { until } from '../providers/helpers.js';
import { fakeMedia } from '../providers/fakes/media.js';
import { OPENAI_KEY, startFakeOpenAI } from '../providers/fakes/openai.js';
import { childEnv, spawnCli, type CliProcess } from '../publish-http/processes.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-backup-'));
const started: CliProcess[] = [];
afterAll(async () => {
  for (const p of started) await p.kill9();
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function serve(dataDir: string, port: number, extra: Record<string, string>): Promise<CliProcess & { base: string }> {
  const proc = spawnCli(['serve', '--port', String(port)], childEnv({ dataDir, databaseUrl: null }, extra));
  started.push(proc);
  const m = await proc.waitFor(/listening on (http:\/\/[^\s"]+)/);
  return Object.assign(proc, { base: `${m[1]}/v1` });
}

/** A signed link as the server wrote it (localhost:PORT), sent to the address it listens on. */
const onListener = (s: { base: string }, url: string) => `${new URL(s.base).origin}${new URL(url).pathname}${new URL(url).search}`;

describe('lavendly backup while serve writes, then a restore from the copy (sqlite)', () => {
  it('copies every committed row consistently, and the restored server picks up where it was', async () => {
    const fake = await startFakeOpenAI({ polls: 1, hold: true });
    const env = {
      LAVENDLY_VIDEO_MODEL: 'openai:sora-2', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: fake.baseUrl,
      LAVENDLY_PROVIDER_POLL_MS: '20', LAVENDLY_PROVIDER_BACKOFF_MS: '10', LAVENDLY_CLIP_SHORT_SIDE: '180',
      LAVENDLY_WORKER_LEASE_MS: '2000', LAVENDLY_RATE_LIMIT_PER_MINUTE: '0',
    };
    try {
      const live = path.join(scratch, 'live');
      const s1 = await serve(live, await freePort(), env);
      const key = (await s1.waitFor(/export LAVENDLY_API_KEY=(lvd_\S+)/))[1]!;
      // The log line (stdout, written asynchronously) may come after the key (stderr).
      const accountId = (await s1.waitFor(/development account (acc_[\w-]+)/))[1]!;

      // A channel whose credentials are sealed with the data dir's key (secrets/credentials.key).
      const out: string[] = [];
      const connect = ['channels', 'connect', '--account', accountId, '--platform', 'youtube', '--name', 'Main', '--token', 'tok-kept', '--json'];
      const errs: string[] = [];
      expect(await main(connect, { env: childEnv({ dataDir: live, databaseUrl: null }), out: (l) => out.push(l), err: (l) => errs.push(l) }), errs.join('\n')).toBe(0);
      const channelId = JSON.parse(out[0]!).id as string;

      // A file stored before the backup.
      const png = (await fakeMedia()).png;
      const slot = await call(`${s1.base}/uploads`, { key, body: { kind: 'image', filename: 'still.png', bytes: png.length } });
      expect(slot.status, slot.text).toBe(201);
      const asset = await call(onListener(s1, slot.json.upload_url), { method: 'PUT', rawBody: png, headers: { 'content-type': 'application/octet-stream' } });
      expect(asset.status, asset.text).toBe(201);

      // A scene whose job is leased (the provider holds the clip) while the backup runs.
      const wf = await call(`${s1.base}/workflows`, { key, body: { name: 'In flight', shots: [{ prompt: 'The fox reads', duration_s: 3 }] } });
      expect(wf.status, wf.text).toBe(201);
      const gen = await call(`${s1.base}/workflows/${wf.json.id}/generate`, { method: 'POST', key });
      expect(gen.status, gen.text).toBe(202);
      await until('the clip to be submitted', async () => fake.accepted.length === 1);

      // A reader holding an old snapshot (an operator's sqlite3 shell, a long report) keeps every
      // later commit in the WAL only, where a copy of the database file alone (cp) misses it.
      const reader = new Database(path.join(live, 'lavendly.sqlite'), { readonly: true });
      reader.exec('begin');
      reader.prepare('select count(*) from workflows').get();

      // Writes that never stop while the backup runs.
      const created: { id: string; phase: string }[] = [];
      const failures: string[] = [];
      let phase = 'before';
      const writer = (async () => {
        for (let i = 0; phase !== 'done'; i++) {
          const at = phase;
          const r = await call(`${s1.base}/workflows`, { key, body: { name: `w${i}`, shots: [{ prompt: 'a street', duration_s: 1 }] } });
          if (r.status === 201) created.push({ id: r.json.id, phase: at });
          else failures.push(r.text);
        }
      })();
      await until('some writes before the backup', async () => created.length >= 20);

      const copy = path.join(scratch, 'copy.sqlite');
      const committed = created.map((c) => c.id);
      phase = 'during';
      const backup = await runCli(['backup', '--to', copy], childEnv({ dataDir: live, databaseUrl: null }), 60_000);
      phase = 'done';
      await writer;
      reader.exec('commit');
      reader.close();
      expect(backup.code, backup.stderr).toBe(0);
      expect(backup.stderr).toBe('');
      expect(backup.stdout).toMatch(new RegExp(`^wrote ${copy}: [\\d.]+ (KiB|MiB), integrity ok, \\d+ migrations \\(latest \\w+\\), copied from ${live}/lavendly.sqlite in [\\d.]+ s\\n$`));
      expect(failures).toEqual([]);
      expect(created.filter((c) => c.phase === 'during').length).toBeGreaterThan(0);

      const db = new Database(copy, { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const ids = new Set(db.prepare('select id from workflows').pluck().all() as string[]);
      expect(committed.filter((id) => !ids.has(id))).toEqual([]);
      expect(db.prepare("select count(*) from jobs where status = 'running'").pluck().get()).toBeGreaterThanOrEqual(1);
      const sealed = db.prepare('select credentials_sealed from channels where id = ?').pluck().get(channelId) as string;
      db.close();

      // The machine is lost; the service comes back on another data dir from the copy.
      await s1.kill9();
      const restored = path.join(scratch, 'restored');
      fs.mkdirSync(restored);
      fs.copyFileSync(copy, path.join(restored, 'lavendly.sqlite'));
      for (const entry of ['signing-secret', 'secrets', 'files']) fs.cpSync(path.join(live, entry), path.join(restored, entry), { recursive: true });
      fake.release();
      expect(JSON.stringify(openCredentials(channelId, sealed, credentialsKey({ dataDir: restored })))).toContain('tok-kept');
      const s2 = await serve(restored, await freePort(), env);
      expect(s2.output()).not.toMatch(/Created development account/);

      expect((await call(`${s2.base}/workflows/${committed.at(-1)}`, { key })).status).toBe(200);
      const again = await call(`${s2.base}/assets/${asset.json.id}`, { key });
      expect(again.status, again.text).toBe(200);
      const file = await fetch(onListener(s2, again.json.url));
      expect(file.status).toBe(200);
      expect(Buffer.from(await file.arrayBuffer()).equals(png)).toBe(true);

      const status = await until('the leased scene to finish on the restored server', async () => {
        const r = await call(`${s2.base}/workflows/${wf.json.id}/generation-status`, { key });
        return r.json?.status === 'succeeded' || r.json?.status === 'failed' ? r.json : null;
      }, 60_000);
      expect(status.status).toBe('succeeded');
      expect(fake.accepted).toHaveLength(1); // the same provider task, resumed, not paid for twice
      const ledger = await call(`${s2.base}/ledger?limit=100`, { key });
      expect(ledger.json.data.filter((e: { kind: string }) => e.kind === 'commit')).toHaveLength(1);
      expect(await s2.stop()).toBe(0);
    } finally {
      await fake.close();
    }
  }, 180_000);

  it('copies an older release\'s database as it is, without migrating it (a backup before an upgrade)', async () => {
    const older = path.join(scratch, 'older');
    const out: string[] = [];
    const io = { env: childEnv({ dataDir: older, databaseUrl: null }), out: (l: string) => out.push(l), err: () => {} };
    expect(await main(['accounts', 'list'], io)).toBe(0);
    const file = path.join(older, 'lavendly.sqlite');
    const db = new Database(file);
    const latest = db.prepare('select max(name) from lavendly_compatible_migrations').pluck().get() as string;
    db.prepare('delete from lavendly_compatible_migrations where name = ?').run(latest); // one release back
    out.length = 0;
    expect(await main(['backup', '--to', path.join(scratch, 'older.sqlite')], io)).toBe(0);
    expect(out[0]).toMatch(/, \d+ migrations \(latest \w+, 1 behind this release\), copied from /);
    expect(db.prepare('select count(*) from lavendly_compatible_migrations where name = ?').pluck().get(latest)).toBe(0);
    db.close();
  });
});
