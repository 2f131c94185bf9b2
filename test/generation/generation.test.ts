/**
 * Estimate -> generate -> follow, over a real listener, with real ffmpeg clips, on every database.
 * The money invariants are checked after every test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/jobs/index.js';
import { LocalImageProvider } from '../../src/media/index.js';
import { assertInvariants } from '../../src/ledger/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { createFox, generate, ledger, local, probeUrl, startWorker, useGeneration, waitForGeneration } from './helpers.js';
import type { FileStorage } from '../../src/storage/index.js';

const FRAME_S = 1 / 25;

describe.each(testDatabases())('generation on %s', (kind) => {
  let s: TestServer;
  let worker: Worker | null = null;

  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterEach(async () => {
    await worker?.stop({ abortAfterMs: 5_000 });
    worker = null;
    await assertInvariants(s.fresh.db);
  });
  afterAll(async () => {
    await s.close();
  });

  it('charges exactly the estimate for the whole video and delivers real clips', async () => {
    const g = useGeneration(s);
    const a = await s.account({ credits: 100 });
    const wf = await createFox(s, a.key);

    const idle = await call(`${s.base}/workflows/${wf.id}/generation-status`, { key: a.key });
    expect(idle.json).toMatchObject({ status: 'idle', generation_id: null, progress: 0 });
    expect(idle.json.phase).toMatch(/nothing has been generated/i);
    expect(idle.json.scenes.map((x: any) => x.status)).toEqual(['draft', 'draft', 'draft']);

    const est = await call(`${s.base}/workflows/${wf.id}/cost-estimate`, { key: a.key });
    expect(est.status, est.text).toBe(200);
    expect(est.json).toMatchObject({ workflow_id: wf.id, node_id: null, total: 30, remaining: 30, available_credits: 100, sufficient: true });
    expect(est.json.per_scene).toEqual(wf.scenes.map((x: any) => ({ node_id: x.node_id, credits: 10, generated: false })));

    const started = await generate(s, a.key, wf.id);
    expect(started.status, started.text).toBe(202);
    expect(started.json).toMatchObject({ workflow_id: wf.id, status: 'queued', credits_reserved: 30 });
    expect(started.json.scenes).toEqual(wf.scenes.map((x: any) => x.node_id));
    // Reserved up front, nothing charged yet.
    expect(await ledger(s, a.key)).toMatchObject({ balance: 100, reserved: 30, available: 70 });
    const queued = await call(`${s.base}/workflows/${wf.id}/generation-status`, { key: a.key });
    expect(queued.json).toMatchObject({ status: 'queued', generation_id: started.json.id, progress: 0 });
    expect(queued.json.phase).toBe('Waiting to start: 3 scenes queued for generation.');

    worker = startWorker(s, g);
    const phases = new Set<string>();
    const start = Date.now();
    let st: any;
    for (;;) {
      st = (await call(`${s.base}/workflows/${wf.id}/generation-status`, { key: a.key })).json;
      phases.add(st.phase);
      if (st.status === 'succeeded' || st.status === 'failed') break;
      expect(Date.now() - start).toBeLessThan(45_000);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(st.status, JSON.stringify(st)).toBe('succeeded');
    expect(st.progress).toBe(1);
    expect(st.phase).toBe('Done: all 3 scenes are generated, for 30 credits in total.');
    expect([...phases].some((p) => /^(\d of 3 ready\. )?Generating scene \d of 3: (animating|drawing the opening image of) /.test(p)), [...phases].join('\n')).toBe(true);
    expect(st.scenes.map((x: any) => x.credits_charged)).toEqual([10, 10, 10]);

    // Charged exactly the estimate, once per clip.
    const after = await ledger(s, a.key);
    expect(after).toMatchObject({ balance: 70, reserved: 0, available: 70 });
    expect(after.data.filter((e) => e.kind === 'commit').map((e) => e.amount)).toEqual([10, 10, 10]);
    expect(after.data.filter((e) => e.kind === 'release')).toHaveLength(0);

    // Real clips: the asked duration (within a frame), the asked size, picture and sound.
    for (const [i, scene] of st.scenes.entries()) {
      expect(scene).toMatchObject({ node_id: wf.scenes[i].node_id, index: i, status: 'generated', error: null });
      const probe = await probeUrl(s, scene.clip_url);
      expect(probe.hasVideo && probe.hasAudio).toBe(true);
      expect(Math.abs((probe.videoDurationS ?? probe.durationS) - wf.scenes[i].duration_s)).toBeLessThanOrEqual(FRAME_S + 1e-6);
      expect(Math.abs(scene.duration_s - wf.scenes[i].duration_s)).toBeLessThan(0.1);
      expect([probe.width, probe.height]).toEqual([320, 180]);
      const still = await fetch(local(s, scene.image_url));
      expect(still.status).toBe(200);
      expect(still.headers.get('content-type')).toBe('image/png');
    }

    // The workflow shows the artifacts; nothing is left to generate.
    const got = await call(`${s.base}/workflows/${wf.id}`, { key: a.key });
    expect(got.json.scenes.every((x: any) => x.status === 'generated' && x.clip_url && x.image_url)).toBe(true);
    const est2 = await call(`${s.base}/workflows/${wf.id}/cost-estimate`, { key: a.key });
    expect(est2.json).toMatchObject({ total: 30, remaining: 0, sufficient: true, available_credits: 70 });
    const again = await generate(s, a.key, wf.id, {});
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('nothing_to_generate');

    // Webhook outbox: a scene.generated per clip and one generation.finished.
    const events = await s.fresh.db('webhook_events').where({ account_id: a.id }).select('type', 'payload');
    expect(events.filter((e) => e.type === 'scene.generated')).toHaveLength(3);
    const finished = events.filter((e) => e.type === 'generation.finished');
    expect(finished).toHaveLength(1);
    expect(JSON.parse(finished[0].payload)).toMatchObject({ generation_id: started.json.id, status: 'succeeded', credits_charged: 30 });

    // Usage counts the clips and the credits, today.
    const usage = await call(`${s.base}/usage/monthly`, { key: a.key });
    expect(usage.status, usage.text).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(usage.json).toMatchObject({ month: today.slice(0, 7), credits_spent: 30, clips_generated: 3, renders: 0 });
    expect(usage.json.days.at(-1)).toEqual({ date: today, credits_spent: 30, clips_generated: 3, renders: 0 });
    expect(usage.json.days).toHaveLength(Number(today.slice(8, 10)));
  });

  it('a provider failing on scene 2 of 3: scenes 1 and 3 charged, 2 released, and the status says why', async () => {
    const g = useGeneration(s, { LAVENDLY_FAIL_SCENES: '2' });
    const a = await s.account({ credits: 50 });
    const wf = await createFox(s, a.key);
    const started = await generate(s, a.key, wf.id);
    expect(started.status, started.text).toBe(202);
    worker = startWorker(s, g);
    const st = await waitForGeneration(s, a.key, wf.id);

    expect(st.status).toBe('failed');
    expect(st.progress).toBe(1);
    expect(st.scenes.map((x: any) => x.status)).toEqual(['generated', 'failed', 'generated']);
    expect(st.scenes.map((x: any) => x.credits_charged)).toEqual([10, 0, 10]);
    expect(st.scenes[1].error.code).toBe('provider_rejected');
    expect(st.scenes[1].error.message).toMatch(/configured to fail/);
    expect(st.scenes[1].clip_url).toBeNull();
    expect(st.phase).toMatch(/^Finished with problems: 2 of 3 scenes generated \(20 credits charged\); scene 2 of 3 \(the old map begins to glow with golden light\) failed and was not charged: /);

    expect(await ledger(s, a.key)).toMatchObject({ balance: 30, reserved: 0, available: 30 });
    const rs = await s.fresh.db('generation_scenes as g').join('reservations as r', 'r.id', 'g.reservation_id')
      .where('g.generation_id', started.json.id).orderBy('g.position').select('r.status', 'r.committed');
    expect(rs.map((r) => r.status)).toEqual(['committed', 'released', 'committed']);

    const got = await call(`${s.base}/workflows/${wf.id}`, { key: a.key });
    expect(got.json.scenes.map((x: any) => x.status)).toEqual(['generated', 'failed', 'generated']);
    expect(got.json.scenes[1].error.code).toBe('provider_rejected');

    // Generating again picks up only the failed scene (the provider has recovered).
    await worker.stop();
    const healthy = useGeneration(s);
    const est = await call(`${s.base}/workflows/${wf.id}/cost-estimate`, { key: a.key });
    expect(est.json).toMatchObject({ total: 30, remaining: 10 });
    const retry = await generate(s, a.key, wf.id, {});
    expect(retry.status, retry.text).toBe(202);
    expect(retry.json.scenes).toEqual([wf.scenes[1].node_id]);
    worker = startWorker(s, healthy);
    const st2 = await waitForGeneration(s, a.key, wf.id);
    expect(st2.status).toBe('succeeded');
    expect(st2.scenes.map((x: any) => x.credits_charged)).toEqual([0, 10, 0]);
    expect(st2.scenes.map((x: any) => x.status)).toEqual(['generated', 'generated', 'generated']);
    expect(await ledger(s, a.key)).toMatchObject({ balance: 20, reserved: 0 });
  });

  it('a re-roll is charged again and carries the hint; the estimate prices it even though generated', async () => {
    const g = useGeneration(s);
    const a = await s.account({ credits: 100 });
    const wf = await createFox(s, a.key, [{ prompt: 'The fox waves', duration_s: 1 }, { prompt: 'The fox sleeps', duration_s: 1 }]);
    worker = startWorker(s, g);
    expect((await generate(s, a.key, wf.id)).status).toBe(202);
    const first = await waitForGeneration(s, a.key, wf.id);
    expect(first.status).toBe('succeeded');
    const oldClip = first.scenes[0].clip_url;

    const node = wf.scenes[0].node_id;
    const est = await call(`${s.base}/workflows/${wf.id}/cost-estimate?node_id=${node}`, { key: a.key });
    expect(est.json).toMatchObject({ node_id: node, total: 10, remaining: 10, per_scene: [{ node_id: node, credits: 10, generated: true }] });

    const reroll = await generate(s, a.key, wf.id, { node_id: node, reroll_hint: 'Keep both paws visible.' });
    expect(reroll.status, reroll.text).toBe(202);
    expect(reroll.json).toMatchObject({ scenes: [node], credits_reserved: 10 });
    const st = await waitForGeneration(s, a.key, wf.id);
    expect(st.status).toBe('succeeded');
    expect(st.phase).toBe('Done: scene 1 of 2 (the fox waves) is generated, for 10 credits.');
    expect(st.scenes.map((x: any) => x.credits_charged)).toEqual([10, 0]);
    expect(new URL(st.scenes[0].clip_url).pathname).not.toBe(new URL(oldClip).pathname);
    const row = await s.fresh.db('generation_scenes').where({ generation_id: reroll.json.id }).first();
    expect(row.prompt).toBe('The fox waves Keep both paws visible.');
    expect(await ledger(s, a.key)).toMatchObject({ balance: 70, reserved: 0 });
    const wfNow = await call(`${s.base}/workflows/${wf.id}`, { key: a.key });
    expect(new URL(wfNow.json.scenes[0].clip_url).pathname).toBe(new URL(st.scenes[0].clip_url).pathname);
  });

  it('402 when the credits do not cover the price, and nothing is reserved or started', async () => {
    useGeneration(s);
    const a = await s.account({ credits: 15 });
    const wf = await createFox(s, a.key);
    const est = await call(`${s.base}/workflows/${wf.id}/cost-estimate`, { key: a.key });
    expect(est.json).toMatchObject({ remaining: 30, available_credits: 15, sufficient: false });
    const r = await generate(s, a.key, wf.id, {});
    expect(r.status).toBe(402);
    expect(r.json.error).toMatchObject({ code: 'insufficient_credits', needed: 30, available: 15 });
    expect(await ledger(s, a.key)).toMatchObject({ balance: 15, reserved: 0, available: 15 });
    expect((await ledger(s, a.key)).data.map((e) => e.kind)).toEqual(['grant']);
    expect(await s.fresh.db('generations').where({ workflow_id: wf.id })).toHaveLength(0);
    expect(await s.fresh.db('reservations').where({ account_id: a.id })).toHaveLength(0);
    expect(await s.fresh.db('jobs').where('payload', 'like', `%${wf.scenes[0].node_id}%`)).toHaveLength(0);
    const got = await call(`${s.base}/workflows/${wf.id}`, { key: a.key });
    expect(got.json.scenes.map((x: any) => x.status)).toEqual(['draft', 'draft', 'draft']);
    // One scene fits.
    const one = await generate(s, a.key, wf.id, { node_id: wf.scenes[0].node_id });
    expect(one.status, one.text).toBe(202);
    expect(await ledger(s, a.key)).toMatchObject({ reserved: 10, available: 5 });
    // Left to the worker of the next test? No: resolve it here so this test leaves no open hold.
    worker = startWorker(s, s.services.generation as any);
    expect((await waitForGeneration(s, a.key, wf.id)).status).toBe('succeeded');
  });

  it('the same Idempotency-Key starts nothing new; a second generation while one runs is refused', async () => {
    const g = useGeneration(s);
    const a = await s.account({ credits: 100 });
    const wf = await createFox(s, a.key);
    const key = { 'Idempotency-Key': `${wf.id}:generate` };
    const first = await generate(s, a.key, wf.id, {}, key);
    expect(first.status, first.text).toBe(202);
    const replay = await generate(s, a.key, wf.id, {}, key);
    expect(replay.status).toBe(202);
    expect(replay.text).toBe(first.text);
    const reused = await generate(s, a.key, wf.id, { node_id: wf.scenes[0].node_id }, key);
    expect(reused.status).toBe(409);
    expect(reused.json.error.code).toBe('idempotency_key_reused');
    const other = await generate(s, a.key, wf.id, {}, { 'Idempotency-Key': 'another' });
    expect(other.status).toBe(409);
    expect(other.json.error).toMatchObject({ code: 'generation_in_progress', generation_id: first.json.id });
    const rerollDuring = await generate(s, a.key, wf.id, { node_id: wf.scenes[0].node_id });
    expect(rerollDuring.json.error.code).toBe('generation_in_progress');
    // Editing the workflow waits too.
    const edit = await call(`${s.base}/workflows/${wf.id}`, { method: 'PUT', key: a.key, body: { name: 'Renamed' } });
    expect(edit.status).toBe(409);
    expect(edit.json.error.code).toBe('workflow_busy');

    expect(await s.fresh.db('generations').where({ workflow_id: wf.id })).toHaveLength(1);
    expect(await s.fresh.db('generation_scenes').where({ workflow_id: wf.id })).toHaveLength(3);
    expect(await ledger(s, a.key)).toMatchObject({ reserved: 30, available: 70 });

    worker = startWorker(s, g);
    const st = await waitForGeneration(s, a.key, wf.id);
    expect(st.status).toBe('succeeded');
    expect(await ledger(s, a.key)).toMatchObject({ balance: 70, reserved: 0 });
    // After the window's first answer, the same key still replays it (and charges nothing).
    const late = await generate(s, a.key, wf.id, {}, key);
    expect(late.text).toBe(first.text);
    expect(await ledger(s, a.key)).toMatchObject({ balance: 70, reserved: 0 });
  });

  it('a shot that starts from an imported image animates that image and is not charged for a still', async () => {
    const g = useGeneration(s);
    const a = await s.account({ credits: 100 });
    const key = s.services.storage.keyFor(a.id, 'ast_lantern.png');
    await new LocalImageProvider().generateImage({ prompt: 'A paper lantern', width: 400, height: 300, outPath: (s.services.storage as FileStorage).pathFor(key) });
    const now = new Date().toISOString();
    await s.fresh.db('assets').insert({
      id: 'ast_lantern', account_id: a.id, kind: 'image', source: 'upload', source_url: null, filename: 'lantern.png', file_key: key,
      bytes: 1, content_type: 'image/png', sha256: 'x', duration_s: null, width: 400, height: 300, created_at: now,
    });
    const wf = await createFox(s, a.key, [{ prompt: 'The lantern floats away', image_asset_id: 'ast_lantern', duration_s: 1 }]);
    const est = await call(`${s.base}/workflows/${wf.id}/cost-estimate`, { key: a.key });
    expect(est.json).toMatchObject({ total: 8, remaining: 8 });
    worker = startWorker(s, g);
    expect((await generate(s, a.key, wf.id, {})).status).toBe(202);
    const st = await waitForGeneration(s, a.key, wf.id);
    expect(st.status, JSON.stringify(st)).toBe('succeeded');
    expect(new URL(st.scenes[0].image_url).pathname).toBe(`/files/${key.split('/').map(encodeURIComponent).join('/')}`);
    const probe = await probeUrl(s, st.scenes[0].clip_url);
    expect([probe.width, probe.height, probe.hasAudio]).toEqual([320, 180, true]);
    expect(await ledger(s, a.key)).toMatchObject({ balance: 92, reserved: 0 });
  });

  it('scopes everything to the account: another account and unknown scenes answer 404', async () => {
    useGeneration(s);
    const a = await s.account({ credits: 100 });
    const b = await s.account({ credits: 100 });
    const wf = await createFox(s, a.key);
    for (const [method, suffix] of [['GET', 'cost-estimate'], ['POST', 'generate'], ['GET', 'generation-status']] as const) {
      const r = await call(`${s.base}/workflows/${wf.id}/${suffix}`, { method, key: b.key, body: method === 'POST' ? {} : undefined });
      expect(r.status, `${suffix}: ${r.text}`).toBe(404);
    }
    const est = await call(`${s.base}/workflows/${wf.id}/cost-estimate?node_id=nd_vid_nope`, { key: a.key });
    expect(est.status).toBe(404);
    const gen = await generate(s, a.key, wf.id, { node_id: 'nd_vid_nope' });
    expect(gen.status).toBe(404);
    expect(gen.json.error).toMatchObject({ code: 'not_found', resource: 'scene' });
    const empty = await call(`${s.base}/workflows`, { key: a.key, body: { name: 'Empty', shots: [] } });
    if (empty.status === 201) {
      const r = await generate(s, a.key, empty.json.id, {});
      expect(r.status).toBe(409);
      expect(r.json.error.code).toBe('nothing_to_generate');
    }
    expect(await ledger(s, b.key)).toMatchObject({ balance: 100, reserved: 0 });
  });
});
