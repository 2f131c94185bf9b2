import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow } from '../../src/workflows/store.js';
import { testDatabases } from '../helpers/db.js';
import { startPrismProxy, throughPrism, type PrismProxy } from '../helpers/prism.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

const shots = [
  { prompt: 'A sleepy fox finds an old map.', image_prompt: 'Watercolour bookshop at dusk.', duration_s: 5 },
  { prompt: 'The map glows gold.', duration_s: 4 },
  { prompt: 'The fox steps through a door of light.' },
];

// Every database directly, and SQLite once more behind Prism's validating proxy, so that each
// response of this suite is also checked against spec/openapi.yaml.
const modes = [...testDatabases().map((kind) => ({ kind, prism: false })), { kind: 'sqlite' as const, prism: true }];

describe.each(modes)('workflows on $kind (prism: $prism)', ({ kind, prism: viaPrism }) => {
  let s: TestServer;
  let prism: PrismProxy | null = null;
  let base = '';
  let req: typeof call = call;
  let seen: ReturnType<typeof throughPrism>['seen'] | null = null;
  let a: { id: string; key: string; keyId: string };
  let b: { id: string; key: string; keyId: string };
  const create = (who: { key: string }, body: unknown = { name: 'Bookshop fox', shots }, headers: Record<string, string> = {}) =>
    req(`${base}/workflows`, { key: who.key, body, headers });

  beforeAll(async () => {
    s = await startTestServer(kind);
    base = s.base;
    if (viaPrism) {
      prism = await startPrismProxy(s.base);
      const wrapped = throughPrism(prism, s.base, call);
      base = prism.url;
      req = wrapped.call;
      seen = wrapped.seen;
    }
    a = await s.account({ name: 'A' });
    b = await s.account({ name: 'B' });
  });
  afterAll(async () => {
    if (seen) {
      // Most traffic must really have been checked; refusals are the deliberately invalid requests.
      expect(seen.checked).toBeGreaterThan(120);
      expect(seen.refusedByPrism.length).toBeLessThan(10);
    }
    await prism?.stop();
    await s.close();
  });

  it('compiles shots into scenes: an image node wired to a video node each, laid out left to right', async () => {
    const r = await create(a, { name: 'Fox', description: 'd', aspect_ratio: '9:16', shots });
    expect(r.status).toBe(201);
    const wf = r.json;
    expect(r.headers.get('etag')).toBe('"1"');
    expect(r.headers.get('location')).toBe(`/workflows/${wf.id}`);
    expect(wf).toMatchObject({ name: 'Fox', description: 'd', aspect_ratio: '9:16', version: 1 });
    expect(wf.scenes).toHaveLength(3);
    expect(wf.scenes.map((x: any) => x.duration_s)).toEqual([5, 4, 5]);
    expect(wf.scenes.every((x: any) => x.status === 'draft' && x.clip_url === null)).toBe(true);
    expect(wf.nodes).toHaveLength(6);
    expect(wf.edges).toHaveLength(3);
    for (const [i, scene] of wf.scenes.entries()) {
      expect(scene.index).toBe(i);
      const img = wf.nodes.find((n: any) => n.id === scene.image_node_id);
      const vid = wf.nodes.find((n: any) => n.id === scene.node_id);
      expect(img.type).toBe('image');
      expect(vid.type).toBe('video');
      expect(wf.edges).toContainEqual({ id: expect.any(String), source: img.id, target: vid.id });
      expect(vid.position.x).toBeGreaterThan(img.position.x);
      if (i > 0) {
        const prev = wf.nodes.find((n: any) => n.id === wf.scenes[i - 1].image_node_id);
        expect(img.position.x).toBeGreaterThan(prev.position.x);
      }
    }
    expect(new Set(wf.nodes.map((n: any) => n.id)).size).toBe(6);
    const got = await req(`${base}/workflows/${wf.id}`, { key: a.key });
    expect(got.status).toBe(200);
    expect(got.json).toEqual(wf);
  });

  it('another account\'s workflow is a 404 for every operation that takes an id', async () => {
    const wf = (await create(a)).json;
    const url = `${base}/workflows/${wf.id}`;
    const attempts = [
      await req(url, { key: b.key }),
      await req(url, { method: 'PUT', key: b.key, body: { name: 'stolen' } }),
      await req(url, { method: 'DELETE', key: b.key }),
    ];
    for (const r of attempts) {
      expect(r.status).toBe(404);
      expect(r.json.error).toMatchObject({ code: 'not_found', resource: 'workflow', id: wf.id });
    }
    const unknown = await req(`${base}/workflows/wf_doesnotexist`, { key: a.key });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message.replace(/wf_\w+/, '')).toBe(attempts[0]!.json.error.message.replace(/wf_[\w-]+/, ''));
    const list = await req(`${base}/workflows?limit=100`, { key: b.key });
    expect(list.json.data.map((w: any) => w.id)).not.toContain(wf.id);
    // Untouched by B.
    const still = await req(url, { key: a.key });
    expect(still.json.name).toBe('Bookshop fox');
    expect(still.json.version).toBe(1);
  });

  it('validation errors name their location', async () => {
    const r = await create(a, { name: '', shots: [{ prompt: 'x', duration_s: 11 }, { nope: 1 }], extra: true });
    expect(r.status).toBe(400);
    expect(Object.keys(r.json.error.issues)).toEqual(['body']);
    const paths = r.json.error.issues.body.map((i: any) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['name', 'shots.0.duration_s']));
    const badId = await req(`${base}/workflows/not-a-workflow-id`, { key: a.key });
    expect(badId.status).toBe(400);
    expect(Object.keys(badId.json.error.issues)).toEqual(['path']);
    const badQuery = await req(`${base}/workflows?limit=0`, { key: a.key });
    expect(badQuery.status).toBe(400);
    expect(Object.keys(badQuery.json.error.issues)).toEqual(['query']);
    const badHeader = await req(`${base}/workflows/wf_x`, { method: 'PUT', key: a.key, body: {}, headers: { 'if-match': 'x'.repeat(65) } });
    expect(badHeader.status).toBe(400);
    expect(Object.keys(badHeader.json.error.issues)).toEqual(['header']);
  });

  it('an image asset source must be an image of the same account', async () => {
    const hasAssets = await s.fresh.db.schema.hasTable('assets');
    const r = await create(a, { name: 'From asset', shots: [{ prompt: 'x', image_asset_id: 'ast_missing1' }] });
    if (!hasAssets) {
      expect(r.status).toBe(400);
      expect(r.json.error.issues.body[0].path).toEqual(['shots', 0, 'image_asset_id']);
      return;
    }
    expect(r.status).toBe(404);
    expect(r.json.error).toMatchObject({ resource: 'asset', id: 'ast_missing1' });
    const asset = (id: string, account: string, k: string) => ({
      id, account_id: account, kind: k, source: 'upload', file_key: `${account}/${id}.bin`, bytes: 10,
      content_type: k === 'image' ? 'image/png' : 'audio/mpeg', sha256: 'x', created_at: new Date().toISOString(),
    });
    const suffix = `${kind}${viaPrism ? 'p' : ''}`;
    await s.fresh.db('assets').insert([
      asset(`ast_a_img_${suffix}`, a.id, 'image'), asset(`ast_a_mus_${suffix}`, a.id, 'music'), asset(`ast_b_img_${suffix}`, b.id, 'image'),
    ]);
    const theirs = await create(a, { name: 'x', shots: [{ prompt: 'x', image_asset_id: `ast_b_img_${suffix}` }] });
    expect(theirs.status).toBe(404);
    expect(theirs.json.error).toMatchObject({ code: 'not_found', resource: 'asset' });
    const music = await create(a, { name: 'x', shots: [{ prompt: 'x', image_asset_id: `ast_a_mus_${suffix}` }] });
    expect(music.status).toBe(400);
    expect(music.json.error.issues.body[0]).toMatchObject({ path: ['shots', 0, 'image_asset_id'], code: 'asset_not_image' });
    const ok = await create(a, { name: 'x', shots: [{ prompt: 'x', image_prompt: 'ignored', image_asset_id: `ast_a_img_${suffix}` }] });
    expect(ok.status).toBe(201);
    expect(ok.json.scenes[0]).toMatchObject({ image_asset_id: `ast_a_img_${suffix}`, image_prompt: null });
    expect(ok.json.nodes[0].data.asset_id).toBe(`ast_a_img_${suffix}`);
    // The same check guards updates.
    const put = await req(`${base}/workflows/${ok.json.id}`, { method: 'PUT', key: a.key, body: { shots: [{ prompt: 'y', image_asset_id: `ast_b_img_${suffix}` }] } });
    expect(put.status).toBe(404);
  });

  it('idempotent create replays the same bytes and creates one workflow', async () => {
    const before = await s.fresh.db('workflows').where({ account_id: a.id }).count({ n: '*' }).first();
    const h = { 'idempotency-key': `create-${kind}-1` };
    const r1 = await create(a, { name: 'Once', shots }, h);
    const r2 = await create(a, { name: 'Once', shots }, h);
    expect(r2.status).toBe(201);
    expect(r2.text).toBe(r1.text);
    expect(r2.headers.get('etag')).toBe(r1.headers.get('etag'));
    expect(r2.headers.get('idempotent-replayed')).toBe('true');
    const r3 = await create(a, { name: 'Twice', shots }, h);
    expect(r3.status).toBe(409);
    expect(r3.json.error.code).toBe('idempotency_key_reused');
    const after = await s.fresh.db('workflows').where({ account_id: a.id }).count({ n: '*' }).first();
    expect(Number(after!.n) - Number(before!.n)).toBe(1);
  });

  it('20 concurrent creates with one key make one workflow', async () => {
    const h = { 'idempotency-key': `race-${kind}` };
    const results = await Promise.all(Array.from({ length: 20 }, () => create(b, { name: 'Race', shots }, h)));
    const ok = results.filter((r) => r.status === 201);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((r) => r.text)).size).toBe(1);
    for (const r of results) if (r.status !== 201) expect(r.json.error.code).toBe('idempotency_key_in_progress');
    const n = await s.fresh.db('workflows').where({ account_id: b.id, name: 'Race' }).count({ n: '*' }).first();
    expect(Number(n!.n)).toBe(1);
  });

  it('refuses a lost update: stale If-Match or version -> 412 with the current version', async () => {
    const wf = (await create(a)).json;
    const url = `${base}/workflows/${wf.id}`;
    // Two editors read version 1.
    const first = await req(url, { method: 'PUT', key: a.key, body: { name: 'Editor one' }, headers: { 'if-match': '"1"' } });
    expect(first.status).toBe(200);
    expect(first.json.version).toBe(2);
    expect(first.headers.get('etag')).toBe('"2"');
    const second = await req(url, { method: 'PUT', key: a.key, body: { name: 'Editor two' }, headers: { 'if-match': '"1"' } });
    expect(second.status).toBe(412);
    expect(second.json.error).toMatchObject({ code: 'precondition_failed', current_version: 2 });
    const viaBody = await req(url, { method: 'PUT', key: a.key, body: { name: 'Editor two', version: 1 } });
    expect(viaBody.status).toBe(412);
    const both = await req(url, { method: 'PUT', key: a.key, body: { name: 'x', version: 2 }, headers: { 'if-match': '"1"' } });
    expect(both.status).toBe(412);
    // Conditions that name no version (they disagree, or the tag is not a version) say so, with the current one.
    const noVersion = await req(url, { method: 'PUT', key: a.key, body: { name: 'x' }, headers: { 'if-match': '"draft"' } });
    for (const r of [both, noVersion]) {
      expect(r.status).toBe(412);
      expect(r.json.error).toMatchObject({ code: 'precondition_failed', current_version: 2 });
      expect(r.json.error.message).toMatch(/names no version .* at version 2\b/);
    }
    expect((await req(url, { key: a.key })).json.name).toBe('Editor one');
    for (const [tag, expected] of [['W/"2"', 3], ['3', 4], ['*', 5]] as const) {
      const r = await req(url, { method: 'PUT', key: a.key, body: { description: tag }, headers: { 'if-match': tag } });
      expect(r.status, tag).toBe(200);
      expect(r.json.version).toBe(expected);
    }
    // Ten editors race from the same version: exactly one wins.
    const race = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      req(url, { method: 'PUT', key: a.key, body: { name: `racer ${i}`, version: 5 } })));
    expect(race.filter((r) => r.status === 200)).toHaveLength(1);
    expect(race.filter((r) => r.status === 412)).toHaveLength(9);
    expect((await req(url, { key: a.key })).json.version).toBe(6);
  });

  it('replacing shots keeps unchanged scenes (and their clips) and resets changed ones', async () => {
    const wf = (await create(a)).json;
    const url = `${base}/workflows/${wf.id}`;
    // Pretend scenes 0 and 1 were generated.
    for (const scene of wf.scenes.slice(0, 2)) {
      await s.fresh.db('workflow_scenes').where({ workflow_id: wf.id, node_id: scene.node_id })
        .update({ status: 'generated', clip_key: `${a.id}/clip_${scene.index}.mp4`, image_key: `${a.id}/img_${scene.index}.png` });
    }
    const generated = (await req(url, { key: a.key })).json;
    expect(generated.scenes[0].clip_url).toMatch(/\/files\/.+\?exp=\d+&sig=/);
    const r = await req(url, { method: 'PUT', key: a.key, body: { shots: [shots[0], { ...shots[1], duration_s: 6 }] } });
    expect(r.status).toBe(200);
    const [keep, changed] = r.json.scenes;
    expect(r.json.scenes).toHaveLength(2);
    expect(keep).toMatchObject({ node_id: wf.scenes[0].node_id, status: 'generated' });
    expect(keep.clip_url).not.toBeNull();
    expect(changed).toMatchObject({ node_id: wf.scenes[1].node_id, status: 'draft', clip_url: null, duration_s: 6 });
    expect(r.json.nodes).toHaveLength(4);
    const summary = (await req(`${base}/workflows?limit=100`, { key: a.key })).json.data.find((w: any) => w.id === wf.id);
    expect(summary).toMatchObject({ scene_count: 2, scenes_generated: 1, version: 2 });
    // Adding a shot appends a new scene with new node ids.
    const grown = await req(url, { method: 'PUT', key: a.key, body: { shots: [shots[0], { ...shots[1], duration_s: 6 }, shots[2]] } });
    expect(grown.json.scenes).toHaveLength(3);
    expect(grown.json.scenes[2].node_id).not.toBe(wf.scenes[2].node_id);
    expect(grown.json.scenes[0].status).toBe('generated');
  });

  it('a generating workflow is busy: update and delete answer 409 workflow_busy', async () => {
    const wf = (await create(a)).json;
    await s.fresh.db('workflow_scenes').where({ workflow_id: wf.id, node_id: wf.scenes[0].node_id }).update({ status: 'generating' });
    const url = `${base}/workflows/${wf.id}`;
    const put = await req(url, { method: 'PUT', key: a.key, body: { name: 'x' } });
    expect(put.status).toBe(409);
    expect(put.json.error.code).toBe('workflow_busy');
    const del = await req(url, { method: 'DELETE', key: a.key });
    expect(del.status).toBe(409);
    await s.fresh.db('workflow_scenes').where({ workflow_id: wf.id }).update({ status: 'draft' });
    const ok = await req(url, { method: 'DELETE', key: a.key });
    expect(ok.status).toBe(204);
    expect(ok.text).toBe('');
    expect((await req(url, { key: a.key })).status).toBe(404);
    expect(await s.fresh.db('workflow_scenes').where({ workflow_id: wf.id }).first()).toBeUndefined();
    expect((await req(url, { method: 'DELETE', key: a.key })).status).toBe(404);
  });

  it('pages 250 workflows at 7 a page while new ones arrive: no duplicates, none missed', async () => {
    const c = await s.account({ name: 'Pager' });
    const original = new Set<string>();
    for (let i = 0; i < 250; i++) {
      const { workflow } = await createWorkflow(s.fresh.db, c.id, { name: `wf ${i}`, shots: [{ prompt: `shot ${i}` }] });
      original.add(workflow.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `${base}/workflows?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await req(url, { key: c.key });
      expect(r.status).toBe(200);
      expect(r.json.data.length).toBeLessThanOrEqual(7);
      seen.push(...r.json.data.map((w: any) => w.id));
      cursor = r.json.next_cursor;
      expect(r.json.has_more).toBe(cursor !== null);
      pages++;
      // Another client creates workflows between our pages.
      await req(`${base}/workflows`, { key: c.key, body: { name: `late ${pages}`, shots: [{ prompt: 'late' }] } });
    } while (cursor && pages < 100);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of original) expect(seen).toContain(id);
    expect(seen.filter((id) => !original.has(id))).toEqual([]);
    // A cursor is bound to its account and cannot be forged.
    const first = await req(`${base}/workflows?limit=7`, { key: c.key });
    const stolen = await req(`${base}/workflows?limit=7&cursor=${encodeURIComponent(first.json.next_cursor)}`, { key: a.key });
    expect(stolen.status).toBe(400);
    expect(stolen.json.error.code).toBe('invalid_cursor');
    const forged = await req(`${base}/workflows?cursor=${encodeURIComponent('eyJ4IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA')}`, { key: c.key });
    expect(forged.status).toBe(400);
    expect(forged.json.error.code).toBe('invalid_cursor');
  });
});
