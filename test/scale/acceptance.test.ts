// The scaled-out deployment on one machine: `lavendly serve` and two `lavendly worker` processes,
// each with a data directory of its own (nothing shared on disk), PostgreSQL and an S3 server.
// The whole path works: upload an image, create, generate, review a frame, render, publish. Every
// link answers the stored bytes. A worker killed (SIGKILL) in the middle of its scene jobs is
// replaced by the other, and the ledger shows each scene charged once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/accounts/accounts.js';
import { grant, assertInvariants } from '../../src/ledger/index.js';
import { LocalImageProvider } from '../../src/media/index.js';
import { SCENE_JOB } from '../../src/generation/start.js';
import { createStorage, type Storage } from '../../src/storage/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { call } from '../helpers/server.js';
import { until } from '../publish-http/fixtures.js';
import { spawnCli, startServeProcess, type CliProcess } from '../publish-http/processes.js';

const SECRET = 'scale-acceptance-signing-secret';

/** Every regular file under `dir`, relative, leaving out scratch space (`.staging`, `tmp`). */
function mediaFilesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .filter((f) => !f.split(path.sep).some((part) => part === '.staging' || part === 'tmp'));
}

describe.runIf(testDatabases().includes('postgres'))('API + two workers on separate disks, PostgreSQL and S3', () => {
  let fresh: FreshDb;
  let s3: TestS3;
  let storage: Storage;
  const dirs: Record<'api' | 'a' | 'b', string> = { api: '', a: '', b: '' };
  let api: CliProcess & { origin: string };
  const workers: Record<'a' | 'b', { proc: CliProcess; id: string } | null> = { a: null, b: null };
  let base: string;
  let user: { id: string; key: string };
  let admin: { key: string };
  let image: any;
  let imageBytes: Buffer;
  let wf: any;

  const envFor = (dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {
      ...process.env, ...s3.env,
      DATABASE_URL: fresh.databaseUrl!,
      LAVENDLY_DATA_DIR: dataDir,
      LAVENDLY_SIGNING_SECRET: SECRET,
      LAVENDLY_CLIP_SHORT_SIDE: '180',
      LAVENDLY_WORKER_POLL_MS: '50',
      LAVENDLY_WORKER_LEASE_MS: '2000',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...extra,
    };
    delete env.LAVENDLY_API_KEY;
    return env;
  };

  async function startWorker(name: 'a' | 'b', extra: Record<string, string> = {}): Promise<void> {
    const proc = spawnCli(['worker'], envFor(dirs[name], extra));
    const id = (await proc.waitFor(/Lavendly worker (\S+) running/))[1]!;
    workers[name] = { proc, id };
  }

  /** An API link (upload slot) at the listener; presigned store links are left as they are. */
  const atApi = (url: string) => {
    const u = new URL(url);
    return u.origin === s3.endpoint ? url : `${api.origin}${u.pathname}${u.search}`;
  };

  /** GETs a presigned link: 200 with exactly the bytes the bucket holds under its key. */
  async function sameAsStored(url: string): Promise<Buffer> {
    const u = new URL(url);
    expect(u.origin, url).toBe(s3.endpoint);
    const key = u.pathname.slice(s3.bucket.length + 2).split('/').map(decodeURIComponent).join('/');
    const res = await fetch(url);
    expect(res.status, url).toBe(200);
    const got = Buffer.from(await res.arrayBuffer());
    expect(got.length).toBeGreaterThan(0);
    expect(got.equals(await buffer(await storage.read(key))), url).toBe(true);
    return got;
  }

  beforeAll(async () => {
    fresh = await freshDb('postgres');
    s3 = await startS3();
    for (const name of ['api', 'a', 'b'] as const) dirs[name] = fs.mkdtempSync(path.join(os.tmpdir(), `lavendly-scale-${name}-`));
    storage = createStorage({ dataDir: fresh.dataDir, publicBaseUrl: 'http://unused.invalid', secret: Buffer.from(SECRET), storage: s3.storage });
    api = await startServeProcess(envFor(dirs.api, { LAVENDLY_SERVE_WORKER: '0' }));
    base = `${api.origin}/v1`;
    const granter = async (db: typeof fresh.db, id: string, credits: number, reason: string) => { await grant(db, id, credits, reason); };
    const u = await createAccount(fresh.db, { name: 'Scale user', credits: 200 }, granter);
    user = { id: u.account.id, key: u.apiKey.key };
    admin = { key: (await createAccount(fresh.db, { name: 'Operator', scopes: ['admin'] }, null)).apiKey.key };
  }, 120_000);

  afterAll(async () => {
    await Promise.all([api?.kill9(), workers.a?.proc.kill9(), workers.b?.proc.kill9()]);
    await s3?.close();
    await fresh?.close();
    for (const dir of Object.values(dirs)) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uploads an image through the API into the bucket', async () => {
    const file = path.join(os.tmpdir(), `lavendly-scale-lantern-${process.pid}.png`);
    await new LocalImageProvider().generateImage({ prompt: 'A paper lantern', width: 400, height: 300, outPath: file });
    imageBytes = fs.readFileSync(file);
    fs.rmSync(file);
    const slot = await call(`${base}/uploads`, { key: user.key, body: { kind: 'image', filename: 'lantern.png', bytes: imageBytes.length } });
    expect(slot.status, slot.text).toBe(201);
    const put = await call(atApi(slot.json.upload_url), { method: 'PUT', rawBody: imageBytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status, put.text).toBe(201);
    image = put.json;
    expect((await sameAsStored(image.url)).equals(imageBytes)).toBe(true);
  });

  it('generates on worker A, which is killed mid-job; worker B takes the jobs over and each scene is charged once', async () => {
    const created = await call(`${base}/workflows`, {
      key: user.key,
      body: { name: 'Lantern', shots: [{ prompt: 'The lantern floats away', image_asset_id: image.id, duration_s: 1 }, { prompt: 'Night falls on the river', duration_s: 1 }] },
    });
    expect(created.status, created.text).toBe(201);
    wf = created.json;
    // Worker A alone, slow (each image and clip waits 60 s first): it claims both scenes and holds them.
    await startWorker('a', { LAVENDLY_PROVIDER_LATENCY_MS: '60000' });
    const gen = await call(`${base}/workflows/${wf.id}/generate`, { key: user.key, body: {} });
    expect(gen.status, gen.text).toBe(202);
    const held = await until('worker A to hold both scene jobs', async () => {
      const rows = await fresh.db('jobs').where({ type: SCENE_JOB, status: 'running', lease_owner: workers.a!.id }).pluck('id');
      return rows.length === 2 ? rows : null;
    }, 60_000);
    expect(await workers.a!.proc.kill9()).toBe('SIGKILL');
    // Worker B, on its own disk, finds the jobs when A's lease runs out and runs them again.
    await startWorker('b');
    const status = await until('the generation to finish', async () => {
      const r = await call(`${base}/workflows/${wf.id}/generation-status`, { key: user.key });
      return r.json.status === 'succeeded' || r.json.status === 'failed' ? r.json : null;
    }, 180_000);
    expect(status.status, JSON.stringify(status)).toBe('succeeded');
    // The scenes (what the status reads) are written by the job's handler; the worker records
    // the job itself a moment later, grouped with its next claim. A job stuck as running would
    // be reaped after its 2 s lease and run a third time, which the attempts below would show.
    const jobs = await until('worker B to record both jobs', async () => {
      const rows = await fresh.db('jobs').whereIn('id', held).select('status', 'lease_owner', 'attempts');
      return rows.every((j) => j.status !== 'running') ? rows : null;
    }, 30_000);
    expect(jobs.map((j) => [j.status, Number(j.attempts)])).toEqual([['succeeded', 2], ['succeeded', 2]]);

    // The ledger: one reservation per scene, each committed exactly once, the balance moved once.
    const entries = await fresh.db('ledger_entries').where({ account_id: user.id }).orderBy('seq').select('kind', 'amount', 'reservation_id');
    const reserves = entries.filter((e) => e.kind === 'reserve');
    const commits = entries.filter((e) => e.kind === 'commit');
    expect(reserves).toHaveLength(2);
    expect(commits.map((e) => e.reservation_id).sort()).toEqual(reserves.map((e) => e.reservation_id).sort());
    const charged = commits.reduce((n, e) => n + Number(e.amount), 0);
    const scenes = await fresh.db('generation_scenes').where({ workflow_id: wf.id }).select('credits', 'credits_charged');
    expect(charged).toBe(scenes.reduce((n, s) => n + Number(s.credits), 0));
    expect(scenes.map((s) => Number(s.credits_charged)).reduce((a, b) => a + b, 0)).toBe(charged);
    const ledger = await call(`${base}/ledger`, { key: user.key });
    expect([ledger.json.balance, ledger.json.reserved]).toEqual([200 - charged, 0]);
    await assertInvariants(fresh.db);
    console.log(`worker A (${workers.a!.id}) killed holding ${held.length} scene jobs; worker B finished them; charged ${charged} credits once`);
  }, 300_000);

  it('clip and still links answer the stored bytes; the first still is the uploaded image', async () => {
    const got = await call(`${base}/workflows/${wf.id}`, { key: user.key });
    expect(got.status, got.text).toBe(200);
    expect(got.json.scenes).toHaveLength(2);
    for (const scene of got.json.scenes) await sameAsStored(scene.clip_url);
    const status = await call(`${base}/workflows/${wf.id}/generation-status`, { key: user.key });
    for (const scene of status.json.scenes) await sameAsStored(scene.image_url);
    expect((await sameAsStored(status.json.scenes[0].image_url)).equals(imageBytes)).toBe(true);
    expect((await sameAsStored(image.url)).equals(imageBytes)).toBe(true);
  });

  it('a review frame is cut from a clip in the bucket', async () => {
    const frame = await call(`${base}/workflows/${wf.id}/scene-frame`, { key: user.key, body: { node_id: wf.scenes[1].node_id, at_s: 0.5 } });
    expect(frame.status, frame.text).toBe(200);
    const png = await sameAsStored(frame.json.url);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  let renderUrl: string;
  it('renders on worker B; the render link answers the stored bytes', async () => {
    const r = await call(`${base}/workflows/${wf.id}/renders`, { key: user.key, body: {} });
    expect(r.status, r.text).toBe(202);
    const done = await until('the render', async () => {
      const g = await call(`${base}/workflows/${wf.id}/renders/${r.json.id}`, { key: user.key });
      return g.json.status === 'succeeded' || g.json.status === 'failed' ? g.json : null;
    }, 180_000);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    renderUrl = done.url;
    await sameAsStored(renderUrl);
  }, 200_000);

  it('publishes to a local channel from worker B\'s disk', async () => {
    const ch = await call(`${base}/channels`, { key: admin.key, body: { account_id: user.id, platform: 'local', name: 'Folder', credentials: {} } });
    expect(ch.status, ch.text).toBe(201);
    const pub = await call(`${base}/workflows/${wf.id}/publish`, { key: user.key, body: { channel_id: ch.json.id, title: 'Lantern' } });
    expect(pub.status, pub.text).toBe(202);
    const published = await until('the publication', async () => {
      const p = await call(`${base}/publications/${pub.json.id}`, { key: user.key });
      expect(p.json.status, p.text).not.toBe('failed');
      return p.json.status === 'published' ? p.json : null;
    }, 120_000);
    const file = fileURLToPath(published.published_url);
    expect(file.startsWith(dirs.b + path.sep), file).toBe(true);
    expect(fs.readFileSync(file).equals(await sameAsStored(renderUrl))).toBe(true);
  }, 150_000);

  it('no process kept a media file on its own disk, and the ledger still balances', async () => {
    for (const dir of [dirs.api, dirs.a, dirs.b]) expect(mediaFilesUnder(path.join(dir, 'files')), dir).toEqual([]);
    await assertInvariants(fresh.db);
  });
});
