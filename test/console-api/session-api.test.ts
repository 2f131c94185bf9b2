import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { sessionCall, signedInUser, type ConsoleSession } from '../helpers/console-session.js';

const shots = [{ prompt: 'A sleepy fox finds an old map.', duration_s: 5 }];

describe.each(testDatabases())('the API with a console session on %s', (kind) => {
  let s: TestServer;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let ann: ConsoleSession;
  let bo: ConsoleSession;

  beforeAll(async () => {
    s = await startTestServer(kind);
    a = await s.account({ name: 'A' });
    b = await s.account({ name: 'B' });
    ann = await signedInUser(s, a.id, 'ann@example.org');
    bo = await signedInUser(s, b.id, 'bo@example.org');
  });
  afterAll(async () => { await s.close(); });

  it('no API call works without a session or a key', async () => {
    for (const path of ['/workflows', '/ledger', '/channels', '/webhooks/endpoints']) {
      const r = await call(`${s.base}${path}`);
      expect(r.status, path).toBe(401);
      expect(r.json.error.code).toBe('unauthorized');
    }
    expect((await call(`${s.base}/workflows`, { body: { name: 'x', shots } })).status).toBe(401);
    // A cookie that names no session is no better.
    expect((await call(`${s.base}/workflows`, { headers: { cookie: 'lavendly_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).status).toBe(401);
  });

  it('the session acts as its account: create with the CSRF token, then read', async () => {
    const created = await sessionCall(ann, `${s.base}/workflows`, { body: { name: 'Fox', shots } });
    expect(created.status).toBe(201);
    const got = await sessionCall(ann, `${s.base}/workflows/${created.json.id}`);
    expect(got.status).toBe(200);
    // The same workflow through the account's API key: it belongs to account A.
    expect((await call(`${s.base}/workflows/${created.json.id}`, { key: a.key })).status).toBe(200);
  });

  it('a user of account B cannot see account A\'s workflows', async () => {
    const created = await sessionCall(ann, `${s.base}/workflows`, { body: { name: 'Private to A', shots } });
    expect(created.status).toBe(201);
    const direct = await sessionCall(bo, `${s.base}/workflows/${created.json.id}`);
    expect(direct.status).toBe(404);
    const list = await sessionCall(bo, `${s.base}/workflows`);
    expect(list.status).toBe(200);
    expect(list.json.data.map((w: any) => w.id)).not.toContain(created.json.id);
    const mine = await sessionCall(ann, `${s.base}/workflows`);
    expect(mine.json.data.map((w: any) => w.id)).toContain(created.json.id);
    // Nor change it.
    expect((await sessionCall(bo, `${s.base}/workflows/${created.json.id}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('unsafe methods without the CSRF token, or with another session\'s, answer 403 csrf_failed', async () => {
    const before = await s.fresh.db('workflows').count({ n: '*' }).first();
    for (const csrf of [false, 'wrong-token', bo.csrf] as const) {
      const r = await sessionCall(ann, `${s.base}/workflows`, { body: { name: 'Forged', shots }, csrf });
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('csrf_failed');
    }
    expect(await s.fresh.db('workflows').count({ n: '*' }).first()).toEqual(before);
    // Reads need no token.
    expect((await sessionCall(ann, `${s.base}/workflows`, { csrf: false })).status).toBe(200);
  });

  it('a cross-site request carrying the cookie is refused, even a read or with the token', async () => {
    const post = await sessionCall(ann, `${s.base}/workflows`, { body: { name: 'Cross', shots }, origin: 'https://evil.example' });
    expect(post.status).toBe(403);
    expect(post.json.error.code).toBe('csrf_failed');
    expect((await sessionCall(ann, `${s.base}/workflows`, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await sessionCall(ann, `${s.base}/workflows`, { origin: null, headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
  });

  it('API keys work as before: no CSRF token, and a key wins over a cookie', async () => {
    const r = await call(`${s.base}/workflows`, { key: b.key, body: { name: 'By key', shots } });
    expect(r.status).toBe(201);
    const both = await call(`${s.base}/workflows/${r.json.id}`, { key: b.key, headers: { cookie: ann.cookie } });
    expect(both.status).toBe(200);
    expect((await call(`${s.base}/workflows`, { key: 'lvd_wrong', headers: { cookie: ann.cookie } })).status).toBe(401);
  });

  it('a session carries no operator scopes', async () => {
    const r = await sessionCall(ann, `${s.base}/usage/top-spenders`);
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('forbidden');
  });
});
