import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../src/media/index.js';
import { fixtureClip, makeTempDir, musicFile } from '../media/helpers.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, invariants, upload, useSmallClips } from '../renders/helpers.js';

describe.each(testDatabases())('audio on %s', (kind) => {
  let s: TestServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let music: any; // a 3 s music asset of account a
  let image: any;
  let silentVideo: any;
  let soundVideo: any;

  beforeAll(async () => {
    s = await startTestServer(kind);
    useSmallClips(s);
    tmp = await makeTempDir('audio');
    a = await s.account({ name: 'A' });
    b = await s.account({ name: 'B' });
    const [m, mute, withSound] = await Promise.all([
      musicFile(tmp.file('theme.m4a'), 3),
      fixtureClip(tmp.file('mute.mp4'), { durationS: 1 }),
      fixtureClip(tmp.file('sound.mp4'), { durationS: 1, audio: 'sine=f=330:r=48000' }),
      runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=64x48', '-frames:v', '1', tmp.file('pic.png')]),
    ]);
    music = await upload(s, a.key, m, 'music');
    silentVideo = await upload(s, a.key, mute, 'video');
    soundVideo = await upload(s, a.key, withSound, 'video');
    image = await upload(s, a.key, tmp.file('pic.png'), 'image');
  });
  afterEach(async () => invariants(s));
  afterAll(async () => {
    await s?.close();
    await tmp?.cleanup();
  });

  const audioOf = (who: { key: string }, wf: string) => call(`${s.base}/workflows/${wf}/audio`, { key: who.key });
  const attach = (who: { key: string }, wf: string, clip: string, body: unknown, headers: Record<string, string> = {}) =>
    call(`${s.base}/workflows/${wf}/clips/${clip}/tracks`, { key: who.key, body, headers });

  it('lays the clips end to end with their native sound on, before any change', async () => {
    const wf = await createWorkflow(s, a.key, [1, 2, 1]);
    const r = await audioOf(a, wf.id);
    expect(r.status).toBe(200);
    expect(r.json.duration_s).toBe(4);
    expect(r.json.clips.map((c: any) => [c.clip_id, c.index, c.starts_at_s, c.duration_s])).toEqual([
      [wf.scenes[0]!.node_id, 0, 0, 1], [wf.scenes[1]!.node_id, 1, 1, 2], [wf.scenes[2]!.node_id, 2, 3, 1],
    ]);
    expect(r.json.clips.every((c: any) => c.native_audio.enabled && c.native_audio.volume_db === 0 && c.tracks.length === 0)).toBe(true);
    expect(r.json.timeline.map((t: any) => [t.source, t.start_s, t.end_s])).toEqual([['native', 0, 1], ['native', 1, 3], ['native', 3, 4]]);
  });

  it('attaches a track relative to its clip, idempotently, and places it on the timeline', async () => {
    const wf = await createWorkflow(s, a.key, [1, 2, 1]);
    const clip = wf.scenes[1]!.node_id;
    const body = { asset_id: music.id, kind: 'music', volume_db: -12, offset_s: 0.5, fade_in_s: 0.2, fade_out_s: 0.5 };
    const first = await attach(a, wf.id, clip, body, { 'Idempotency-Key': `attach-${wf.id}` });
    expect(first.status, first.text).toBe(201);
    expect(first.json).toMatchObject({
      workflow_id: wf.id, clip_id: clip, asset_id: music.id, kind: 'music', volume_db: -12, offset_s: 0.5,
      trim_start_s: 0, trim_end_s: null, fade_in_s: 0.2, fade_out_s: 0.5, starts_at_s: 1.5,
    });
    expect(first.json.id).toMatch(/^trk_/);
    const again = await attach(a, wf.id, clip, body, { 'Idempotency-Key': `attach-${wf.id}` });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    const other = await attach(a, wf.id, clip, { ...body, volume_db: -6 }, { 'Idempotency-Key': `attach-${wf.id}` });
    expect(other.status).toBe(409);
    expect(other.json.error.code).toBe('idempotency_key_reused');

    const layout = (await audioOf(a, wf.id)).json;
    expect(layout.clips[1].tracks.map((t: any) => t.id)).toEqual([first.json.id]);
    // 3 s of music from 1.5 s, cut at the end of the 4 s video.
    const seg = layout.timeline.find((t: any) => t.source === 'track');
    expect(seg).toEqual({ start_s: 1.5, end_s: 4, clip_id: clip, source: 'track', track_id: first.json.id, kind: 'music', volume_db: -12 });
    expect(layout.timeline.map((t: any) => t.start_s)).toEqual([...layout.timeline.map((t: any) => t.start_s)].sort((x: number, y: number) => x - y));
  });

  it('mutes and re-levels a clip\'s native sound; only the fields given change', async () => {
    const wf = await createWorkflow(s, a.key, [1, 1]);
    const clip = wf.scenes[0]!.node_id;
    const url = `${s.base}/workflows/${wf.id}/clips/${clip}/audio`;
    const muted = await call(url, { method: 'PATCH', key: a.key, body: { enabled: false } });
    expect(muted.status, muted.text).toBe(200);
    expect(muted.json).toMatchObject({ clip_id: clip, index: 0, native_audio: { enabled: false, volume_db: 0 }, starts_at_s: 0, duration_s: 1 });
    const leveled = await call(url, { method: 'PATCH', key: a.key, body: { volume_db: -6 } });
    expect(leveled.json.native_audio).toEqual({ enabled: false, volume_db: -6 });
    const layout = (await audioOf(a, wf.id)).json;
    expect(layout.timeline.map((t: any) => t.clip_id)).toEqual([wf.scenes[1]!.node_id]);
    const on = await call(url, { method: 'PATCH', key: a.key, body: { enabled: true } });
    expect(on.json.native_audio).toEqual({ enabled: true, volume_db: -6 });
    expect((await call(url, { method: 'PATCH', key: a.key, body: {} })).status).toBe(400);
    expect((await call(url, { method: 'PATCH', key: a.key, body: { volume_db: -61 } })).status).toBe(400);
  });

  it('updates, moves and detaches a track', async () => {
    const wf = await createWorkflow(s, a.key, [2, 1]);
    const [c0, c1] = wf.scenes.map((x) => x.node_id);
    const t = (await attach(a, wf.id, c0!, { asset_id: music.id, kind: 'music', trim_start_s: 0.5, trim_end_s: 2 })).json;
    const url = `${s.base}/workflows/${wf.id}/tracks/${t.id}`;
    const moved = await call(url, { method: 'PATCH', key: a.key, body: { clip_id: c1, offset_s: 0.25, volume_db: -3, kind: 'sfx' } });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.json).toMatchObject({ clip_id: c1, offset_s: 0.25, volume_db: -3, kind: 'sfx', trim_start_s: 0.5, trim_end_s: 2, starts_at_s: 2.25 });
    const open = await call(url, { method: 'PATCH', key: a.key, body: { trim_end_s: null } });
    expect(open.json.trim_end_s).toBeNull();
    const bad = await call(url, { method: 'PATCH', key: a.key, body: { trim_start_s: 2.5, trim_end_s: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('validation_error');
    expect((await call(url, { method: 'PATCH', key: a.key, body: {} })).status).toBe(400);
    const nowhere = await call(url, { method: 'PATCH', key: a.key, body: { clip_id: 'nd_vid_nope' } });
    expect(nowhere.status).toBe(404);
    const gone = await call(url, { method: 'DELETE', key: a.key });
    expect(gone.status).toBe(204);
    expect(gone.text).toBe('');
    expect((await call(url, { method: 'DELETE', key: a.key })).status).toBe(404);
    expect((await audioOf(a, wf.id)).json.clips.every((c: any) => c.tracks.length === 0)).toBe(true);
  });

  it('accepts only assets with sound: 400 asset_not_audio for an image or a silent video', async () => {
    const wf = await createWorkflow(s, a.key, [1]);
    const clip = wf.scenes[0]!.node_id;
    for (const asset of [image, silentVideo]) {
      const r = await attach(a, wf.id, clip, { asset_id: asset.id, kind: 'sfx' });
      expect(r.status, r.text).toBe(400);
      expect(r.json.error.code).toBe('asset_not_audio');
    }
    const ok = await attach(a, wf.id, clip, { asset_id: soundVideo.id, kind: 'sfx' });
    expect(ok.status, ok.text).toBe(201);
    const past = await attach(a, wf.id, clip, { asset_id: music.id, kind: 'music', trim_start_s: 5 });
    expect(past.status).toBe(400);
    expect(past.json.error.issues.body[0].path).toEqual(['trim_start_s']);
  });

  it('answers 404 for another account\'s workflow, clip, track or asset', async () => {
    const wf = await createWorkflow(s, a.key, [1, 1]);
    const clip = wf.scenes[0]!.node_id;
    const t = (await attach(a, wf.id, clip, { asset_id: music.id, kind: 'music' })).json;
    expect((await audioOf(b, wf.id)).status).toBe(404);
    expect((await attach(b, wf.id, clip, { asset_id: music.id, kind: 'music' })).status).toBe(404);
    expect((await call(`${s.base}/workflows/${wf.id}/clips/${clip}/audio`, { method: 'PATCH', key: b.key, body: { enabled: false } })).status).toBe(404);
    expect((await call(`${s.base}/workflows/${wf.id}/tracks/${t.id}`, { method: 'PATCH', key: b.key, body: { volume_db: 1 } })).status).toBe(404);
    expect((await call(`${s.base}/workflows/${wf.id}/tracks/${t.id}`, { method: 'DELETE', key: b.key })).status).toBe(404);
    // B's own workflow, A's asset.
    const wfB = await createWorkflow(s, b.key, [1]);
    const r = await attach(b, wfB.id, wfB.scenes[0]!.node_id, { asset_id: music.id, kind: 'music' });
    expect(r.status).toBe(404);
    expect(r.json.error.resource).toBe('asset');
    // A track id of another workflow of the same account.
    const wf2 = await createWorkflow(s, a.key, [1]);
    expect((await call(`${s.base}/workflows/${wf2.id}/tracks/${t.id}`, { method: 'DELETE', key: a.key })).status).toBe(404);
    // An unknown clip.
    const unknown = await attach(a, wf.id, 'nd_vid_missing', { asset_id: music.id, kind: 'music' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.resource).toBe('clip');
  });

  it('drops the audio of a scene that the workflow no longer has', async () => {
    const wf = await createWorkflow(s, a.key, [1, 1]);
    const last = wf.scenes[1]!.node_id;
    await attach(a, wf.id, last, { asset_id: music.id, kind: 'music' });
    await call(`${s.base}/workflows/${wf.id}/clips/${last}/audio`, { method: 'PATCH', key: a.key, body: { enabled: false } });
    const edit = await call(`${s.base}/workflows/${wf.id}`, { method: 'PUT', key: a.key, body: { shots: [{ prompt: 'Shot 1: a lantern-lit street, moment 1.', duration_s: 1 }] } });
    expect(edit.status, edit.text).toBe(200);
    const layout = (await audioOf(a, wf.id)).json;
    expect(layout.clips).toHaveLength(1);
    expect(layout.duration_s).toBe(1);
    expect(Number((await s.fresh.db('audio_tracks').where({ workflow_id: wf.id }).count({ n: '*' }))[0]!.n)).toBe(0);
    expect(Number((await s.fresh.db('clip_audio').where({ workflow_id: wf.id }).count({ n: '*' }))[0]!.n)).toBe(0);
  });
});
