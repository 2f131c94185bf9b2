import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/jobs/index.js';
import { measureLoudness, probeMedia } from '../../src/media/index.js';
import { makeTempDir, musicFile, streamCounts } from '../media/helpers.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import {
  createWorkflow, download, HEIGHT, invariants, ledgerOf, startRender, startWorker, upload, useSmallClips, waitForRender, WIDTH,
} from './helpers.js';

/**
 * End to end on real media: generate-then-stitch, reuse without charge, one changed scene, and the
 * audio model heard in the mix. One workflow carries through the suite (each test builds on the
 * previous one's renders).
 */
describe.each(testDatabases())('renders on %s', (kind) => {
  let s: TestServer;
  let worker: Worker;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let wf: { id: string; scenes: { node_id: string; duration_s: number }[] };
  let baseline: { file: string; lufs: number };
  let music: any;
  const shots = (second = 'Shot 2: a lantern-lit street, moment 2.') => [
    { prompt: 'Shot 1: a lantern-lit street, moment 1.', duration_s: 1 },
    { prompt: second, duration_s: 2 },
    { prompt: 'Shot 3: a lantern-lit street, moment 3.', duration_s: 1 },
  ];
  const generations = async () => Number((await s.fresh.db('generations').where({ workflow_id: wf.id }).count({ n: '*' }))[0]!.n);

  beforeAll(async () => {
    s = await startTestServer(kind);
    const g = useSmallClips(s);
    worker = startWorker(s, g.providers);
    tmp = await makeTempDir(`renders-${kind}`);
    a = await s.account({ name: 'A', credits: 100 });
    b = await s.account({ name: 'B', credits: 100 });
    wf = await createWorkflow(s, a.key, [1, 2, 1]);
    music = await upload(s, a.key, await musicFile(tmp.file('theme.m4a'), 6), 'music');
  });
  afterEach(async () => invariants(s));
  afterAll(async () => {
    await worker?.stop({ abortAfterMs: 1000 });
    await s?.close();
    await tmp?.cleanup();
  });

  it('generates the missing scenes (charged per clip) and stitches them: summed duration, one video and one audio stream', async () => {
    const r = await startRender(s, a.key, wf.id, { label: 'First cut' }, { 'Idempotency-Key': `first-${wf.id}` });
    expect(r.status, r.text).toBe(202);
    expect(r.json).toMatchObject({
      workflow_id: wf.id, workflow_version: 1, status: 'queued', progress: 0, label: 'First cut', url: null,
      credits_charged: 0, credits_reserved: 30, scenes_reused: 0, scenes_generated: 0, error: null, finished_at: null,
    });
    expect(r.json.id).toMatch(/^rnd_/);
    const replay = await startRender(s, a.key, wf.id, { label: 'First cut' }, { 'Idempotency-Key': `first-${wf.id}` });
    expect(replay.text).toBe(r.text);
    // One render per workflow at a time.
    const second = await startRender(s, a.key, wf.id);
    expect(second.status).toBe(409);
    expect(second.json.error.code).toBe('render_in_progress');
    expect((await call(`${s.base}/workflows/${wf.id}/renders/${r.json.id}`, { key: b.key })).status).toBe(404);

    const done = await waitForRender(s, a.key, wf.id, r.json.id);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded', progress: 1, credits_charged: 30, credits_reserved: 0, scenes_reused: 0, scenes_generated: 3, error: null });
    expect(done.duration_s).toBeCloseTo(4, 1);
    expect(Date.parse(done.url_expires_at)).toBeGreaterThan(Date.now());
    const file = await download(s, done.url, tmp.dir, 'first.mp4');
    const probe = await probeMedia(file);
    expect(probe.durationS).toBeCloseTo(4, 1);
    expect([probe.videoCodec, probe.audioCodec, probe.width, probe.height]).toEqual(['h264', 'aac', WIDTH, HEIGHT]);
    expect(await streamCounts(file)).toEqual({ video: 1, audio: 1 });
    const money = await ledgerOf(s, a.key);
    expect([money.balance, money.reserved]).toEqual([70, 0]);
    baseline = { file, lufs: (await measureLoudness(file)).integratedLufs };

    // Each clip's probe was stored when it landed (renders read it instead of probing again).
    const clipKeys = (await s.fresh.db('workflow_scenes').where({ workflow_id: wf.id }).pluck('clip_key')) as string[];
    const stored = await s.fresh.db('clip_probes').whereIn('file_key', clipKeys).select('file_key', 'probe');
    expect(stored.map((row) => row.file_key).sort()).toEqual([...clipKeys].sort());
    for (const row of stored) expect(JSON.parse(row.probe)).toMatchObject({ hasVideo: true, hasAudio: true, width: WIDTH, height: HEIGHT });

    // The final video can be reviewed and looked at.
    const qc = await call(`${s.base}/workflows/${wf.id}/quality-check`, { key: a.key, body: {} });
    expect(qc.status, qc.text).toBe(200);
    expect(qc.json).toMatchObject({ node_id: null, pass: true, probe: { has_video: true, has_audio: true, width: WIDTH, height: HEIGHT } });
    const frame = await call(`${s.base}/workflows/${wf.id}/scene-frame`, { key: a.key, body: { at_s: 3.5 } });
    expect(frame.status, frame.text).toBe(200);
    expect(frame.json).toMatchObject({ width: WIDTH, height: HEIGHT, at_s: 3.5 });
  });

  it('re-renders an unchanged workflow without generating or charging anything', async () => {
    const before = { ledger: await ledgerOf(s, a.key), generations: await generations() };
    const r = await startRender(s, a.key, wf.id);
    expect(r.status, r.text).toBe(202);
    expect(r.json).toMatchObject({ credits_reserved: 0, scenes_reused: 3, scenes_generated: 0 });
    const done = await waitForRender(s, a.key, wf.id, r.json.id);
    expect(done).toMatchObject({ status: 'succeeded', credits_charged: 0, credits_reserved: 0, scenes_reused: 3, scenes_generated: 0 });
    expect(done.duration_s).toBeCloseTo(4, 1);
    const after = await ledgerOf(s, a.key);
    expect(after.balance).toBe(before.ledger.balance);
    expect(after.data.length).toBe(before.ledger.data.length);
    expect(await generations()).toBe(before.generations);
  });

  it('with one scene changed, generates and charges only that scene', async () => {
    const edit = await call(`${s.base}/workflows/${wf.id}`, { method: 'PUT', key: a.key, body: { shots: shots('Shot 2: the lanterns go out one by one.') } });
    expect(edit.status, edit.text).toBe(200);
    const before = await ledgerOf(s, a.key);
    const r = await startRender(s, a.key, wf.id);
    expect(r.json).toMatchObject({ workflow_version: 2, credits_reserved: 10, scenes_reused: 2 });
    const done = await waitForRender(s, a.key, wf.id, r.json.id);
    expect(done).toMatchObject({ status: 'succeeded', credits_charged: 10, credits_reserved: 0, scenes_reused: 2, scenes_generated: 1 });
    expect((await ledgerOf(s, a.key)).balance).toBe(before.balance - 10);
    const latest = await s.fresh.db('generations').where({ workflow_id: wf.id }).orderBy('created_at', 'desc').first();
    const made = await s.fresh.db('generation_scenes').where({ generation_id: latest.id }).select('node_id');
    expect(made.map((m) => m.node_id)).toEqual([wf.scenes[1]!.node_id]);
    const list = await call(`${s.base}/workflows/${wf.id}/renders?limit=2`, { key: a.key });
    expect(list.status).toBe(200);
    expect(list.json.data.map((x: any) => x.id)).toEqual([r.json.id, expect.any(String)]);
    expect(list.json.has_more).toBe(true);
    const next = await call(`${s.base}/workflows/${wf.id}/renders?limit=2&cursor=${list.json.next_cursor}`, { key: a.key });
    expect(next.json.data).toHaveLength(1);
    expect(next.json.has_more).toBe(false);
    const all = await call(`${s.base}/renders?status=succeeded`, { key: a.key });
    expect(all.json.data).toHaveLength(3);
    expect((await call(`${s.base}/renders`, { key: b.key })).json.data).toHaveLength(0);
    expect((await call(`${s.base}/workflows/${wf.id}/renders`, { key: b.key })).status).toBe(404);
  });

  it('mixes a music track at -12 dB audibly, and a render keeps the audio it was created with', async () => {
    const attached = await call(`${s.base}/workflows/${wf.id}/clips/${wf.scenes[0]!.node_id}/tracks`, {
      key: a.key, body: { asset_id: music.id, kind: 'music', volume_db: -12, fade_in_s: 0.2, fade_out_s: 0.3 },
    });
    expect(attached.status, attached.text).toBe(201);
    // Created while no worker runs, then the track is detached: the render must still carry it.
    await worker.stop();
    const r = await startRender(s, a.key, wf.id);
    expect(r.status, r.text).toBe(202);
    expect((await call(`${s.base}/workflows/${wf.id}/tracks/${attached.json.id}`, { method: 'DELETE', key: a.key })).status).toBe(204);
    worker.start();
    const done = await waitForRender(s, a.key, wf.id, r.json.id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    const withMusic = await download(s, done.url, tmp.dir, 'music.mp4');
    const mixed = await measureLoudness(withMusic);

    const plain = await startRender(s, a.key, wf.id);
    const plainDone = await waitForRender(s, a.key, wf.id, plain.json.id);
    const without = await measureLoudness(await download(s, plainDone.url, tmp.dir, 'plain.mp4'));
    // The clips' own sound is a chord at a similar level: the music adds ~1.4 LUFS on top of it
    // (deterministic media); heard alone, below, it is far above silence.
    expect(mixed.integratedLufs).toBeGreaterThan(without.integratedLufs + 0.5);
    expect(mixed.maxVolumeDb).toBeGreaterThan(without.maxVolumeDb + 1);
  });

  it('muting the native audio changes the render', async () => {
    for (const sc of wf.scenes) {
      const r = await call(`${s.base}/workflows/${wf.id}/clips/${sc.node_id}/audio`, { method: 'PATCH', key: a.key, body: { enabled: false } });
      expect(r.status).toBe(200);
    }
    const r = await startRender(s, a.key, wf.id);
    const done = await waitForRender(s, a.key, wf.id, r.json.id);
    expect(done.status).toBe('succeeded');
    const file = await download(s, done.url, tmp.dir, 'muted.mp4');
    expect(await streamCounts(file)).toEqual({ video: 1, audio: 1 });
    const muted = await measureLoudness(file);
    expect(muted.meanVolumeDb).toBeLessThan(-80);
    expect((await measureLoudness(baseline.file)).meanVolumeDb).toBeGreaterThan(-40);

    // Only the music at -12 dB over the muted clips: plainly audible.
    const t = await call(`${s.base}/workflows/${wf.id}/clips/${wf.scenes[0]!.node_id}/tracks`, { key: a.key, body: { asset_id: music.id, kind: 'music', volume_db: -12 } });
    expect(t.status).toBe(201);
    const m = await startRender(s, a.key, wf.id);
    const mDone = await waitForRender(s, a.key, wf.id, m.json.id);
    const alone = await measureLoudness(await download(s, mDone.url, tmp.dir, 'music-alone.mp4'));
    expect(alone.meanVolumeDb).toBeGreaterThan(-40);
    expect(alone.integratedLufs).toBeGreaterThan(-40);
  });
});
