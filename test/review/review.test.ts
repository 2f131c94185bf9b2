import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../src/media/index.js';
import { fixtureClip, makeTempDir } from '../media/helpers.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, HEIGHT, invariants, local, plantClip, useSmallClips, WIDTH } from '../renders/helpers.js';

// Review reads files and one workflow; its database logic is a lookup, so SQLite covers it
// (the renders suite checks the final-video path on both databases).
describe('review: quality_check and get_scene_frame', () => {
  let s: TestServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let wf: { id: string; scenes: { node_id: string; duration_s: number }[] };
  const size = `${WIDTH}x${HEIGHT}`;
  const tone = 'sine=f=330:r=48000';

  beforeAll(async () => {
    s = await startTestServer('sqlite');
    useSmallClips(s);
    tmp = await makeTempDir('review');
    a = await s.account({ name: 'A' });
    b = await s.account({ name: 'B' });
    // Six scenes of 2 s: good, black, frozen, silent, too short, and one never generated.
    wf = await createWorkflow(s, a.key, [2, 2, 2, 2, 2, 2]);
    const files = await Promise.all([
      fixtureClip(tmp.file('good.mp4'), { durationS: 2, size, audio: tone }),
      fixtureClip(tmp.file('black.mp4'), { durationS: 2, video: `color=c=black:s=${size}:r=25`, audio: tone }),
      fixtureClip(tmp.file('frozen.mp4'), { durationS: 2, video: `smptebars=s=${size}:r=25`, audio: tone }),
      fixtureClip(tmp.file('silent.mp4'), { durationS: 2, size, audio: 'anullsrc=r=48000:cl=stereo' }),
      fixtureClip(tmp.file('short.mp4'), { durationS: 1, size, audio: tone }),
    ]);
    for (const [i, f] of files.entries()) await plantClip(s, a.id, wf.id, wf.scenes[i]!.node_id, f);
  });
  afterEach(async () => invariants(s));
  afterAll(async () => {
    await s?.close();
    await tmp?.cleanup();
  });

  const check = (who: { key: string }, body?: unknown) => call(`${s.base}/workflows/${wf.id}/quality-check`, { method: 'POST', key: who.key, body });

  it('passes a good clip, with its probe', async () => {
    const r = await check(a, { node_id: wf.scenes[0]!.node_id });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ node_id: wf.scenes[0]!.node_id, pass: true, score: 1, failures: [], reroll_hint: null });
    expect(r.json.probe).toMatchObject({ has_video: true, has_audio: true, width: WIDTH, height: HEIGHT });
    expect(r.json.probe.duration_s).toBeCloseTo(2, 1);
    // The local providers include no vision model: the report says the pass rests on signals alone.
    expect(r.json.vision_review).toEqual({ status: 'not_configured', provider: null });
  });

  it.each([
    [1, 'black_frames'],
    [2, 'frozen_frames'],
    [3, 'silence'],
    [4, 'wrong_duration'],
  ])('catches scene %i: %s, says when, and hints at a reroll', async (i, checkName) => {
    const r = await check(a, { node_id: wf.scenes[i]!.node_id });
    expect(r.status, r.text).toBe(200);
    expect(r.json.pass).toBe(false);
    expect(r.json.score).toBeLessThan(1);
    expect(r.json.failures.map((f: any) => f.check)).toContain(checkName);
    const failure = r.json.failures.find((f: any) => f.check === checkName);
    expect(typeof failure.message).toBe('string');
    expect(failure.at_s).toBeGreaterThanOrEqual(0);
    expect(r.json.reroll_hint).toEqual(expect.any(String));
  });

  it('answers 409 not_generated for a scene without a clip, 409 no_finished_render for the final video', async () => {
    const r = await check(a, { node_id: wf.scenes[5]!.node_id });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('not_generated');
    const final = await check(a);
    expect(final.status).toBe(409);
    expect(final.json.error.code).toBe('no_finished_render');
    const frame = await call(`${s.base}/workflows/${wf.id}/scene-frame`, { key: a.key, body: {} });
    expect(frame.status).toBe(409);
    expect(frame.json.error.code).toBe('no_finished_render');
    expect((await check(a, { node_id: 'nd_vid_unknown' })).status).toBe(404);
    expect((await check(b, { node_id: wf.scenes[0]!.node_id })).status).toBe(404);
  });

  it('gives a fetchable PNG still of the right size through a signed, expiring URL', async () => {
    const r = await call(`${s.base}/workflows/${wf.id}/scene-frame`, { key: a.key, body: { node_id: wf.scenes[0]!.node_id, at_s: 0.5 } });
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ width: WIDTH, height: HEIGHT, at_s: 0.5 });
    expect(Date.parse(r.json.expires_at)).toBeGreaterThan(Date.now());
    const png = await fetch(local(s, r.json.url));
    expect(png.status).toBe(200);
    const bytes = Buffer.from(await png.arrayBuffer());
    expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    // A tampered signature is refused.
    const u = new URL(local(s, r.json.url));
    u.searchParams.set('sig', 'x'.repeat(u.searchParams.get('sig')!.length));
    expect((await fetch(u)).status).toBeGreaterThanOrEqual(400);

    // Default: the middle; beyond the end: clamped to the last frame.
    const mid = await call(`${s.base}/workflows/${wf.id}/scene-frame`, { key: a.key, body: { node_id: wf.scenes[0]!.node_id } });
    expect(mid.json.at_s).toBe(1);
    const late = await call(`${s.base}/workflows/${wf.id}/scene-frame`, { key: a.key, body: { node_id: wf.scenes[0]!.node_id, at_s: 99 } });
    expect(late.status).toBe(200);
    expect(late.json.at_s).toBeLessThan(2);
    expect(late.json.at_s).toBeGreaterThan(1.9);
    const still = await fetch(local(s, late.json.url));
    const path = tmp.file('late.png');
    (await import('node:fs')).writeFileSync(path, Buffer.from(await still.arrayBuffer()));
    const probe = await probeMedia(path);
    expect([probe.width, probe.height]).toEqual([WIDTH, HEIGHT]);
  });
});
