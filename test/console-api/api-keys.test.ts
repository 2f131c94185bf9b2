import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { sessionCall, signedInUser, type ConsoleSession } from '../helpers/console-session.js';

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(testDatabases())('API key management on %s', (kind) => {
  let s: TestServer;
  let a: { id: string; key: string; keyId: string };
  let b: { id: string; key: string; keyId: string };
  let ann: ConsoleSession;

  beforeAll(async () => {
    s = await startTestServer(kind);
    a = await s.account({ name: 'A' });
    b = await s.account({ name: 'B' });
    ann = await signedInUser(s, a.id, 'ann@example.org');
  });
  afterAll(async () => { await s.close(); });

  it('a console user creates a key: the secret once, then only its prefix; the key works at once', async () => {
    const created = await sessionCall(ann, `${s.base}/keys`, { body: { name: 'Shop backend', scopes: ['ledger:write'] } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'Shop backend', scopes: ['ledger:write'], last_used_at: null, revoked_at: null });
    expect(created.json.key).toMatch(/^lvd_/);
    expect(created.json.key.startsWith(created.json.prefix)).toBe(true);
    expect((await call(`${s.base}/ledger`, { key: created.json.key })).status).toBe(200);

    const listed = await sessionCall(ann, `${s.base}/keys`);
    expect(listed.status).toBe(200);
    const mine = listed.json.data.find((k: any) => k.id === created.json.id);
    expect(mine).toMatchObject({ name: 'Shop backend', prefix: created.json.prefix, scopes: ['ledger:write'] });
    expect(JSON.stringify(listed.json)).not.toContain(created.json.key);
    // Account A's first key is listed too; B's is not.
    expect(listed.json.data.map((k: any) => k.id)).toContain(a.keyId);
    expect(listed.json.data.map((k: any) => k.id)).not.toContain(b.keyId);

    // "Last used" is recorded (asynchronously, at most once a minute).
    const used = await until(() => sessionCall(ann, `${s.base}/keys`), (r) => r.json.data.find((k: any) => k.id === created.json.id).last_used_at !== null);
    expect(Date.parse(used.json.data.find((k: any) => k.id === created.json.id).last_used_at)).toBeGreaterThan(Date.now() - 120_000);
  });

  it('pages newest first', async () => {
    await sessionCall(ann, `${s.base}/keys`, { body: { name: 'second' } });
    const first = await sessionCall(ann, `${s.base}/keys?limit=1`);
    expect(first.json.data).toHaveLength(1);
    expect(first.json.has_more).toBe(true);
    const next = await sessionCall(ann, `${s.base}/keys?limit=1&cursor=${encodeURIComponent(first.json.next_cursor)}`);
    expect(next.json.data[0].id).not.toBe(first.json.data[0].id);
  });

  it('revokes: the key stops working, a second revoke keeps the first time, another account\'s key is not found', async () => {
    const created = await sessionCall(ann, `${s.base}/keys`, { body: { name: 'temporary' } });
    expect((await call(`${s.base}/ledger`, { key: created.json.key })).status).toBe(200);
    const revoked = await sessionCall(ann, `${s.base}/keys/${created.json.id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(revoked.json.revoked_at).not.toBeNull();
    expect((await call(`${s.base}/ledger`, { key: created.json.key })).status).toBe(401);
    const again = await sessionCall(ann, `${s.base}/keys/${created.json.id}`, { method: 'DELETE' });
    expect(again.json.revoked_at).toBe(revoked.json.revoked_at);
    const foreign = await sessionCall(ann, `${s.base}/keys/${b.keyId}`, { method: 'DELETE' });
    expect(foreign.status).toBe(404);
    expect((await call(`${s.base}/ledger`, { key: b.key })).status).toBe(200);
    // Without the CSRF token nothing is revoked.
    expect((await sessionCall(ann, `${s.base}/keys/${a.keyId}`, { method: 'DELETE', csrf: false })).status).toBe(403);
    expect((await call(`${s.base}/ledger`, { key: a.key })).status).toBe(200);
  });

  it('an ordinary key cannot manage keys; a console user cannot mint admin keys; an admin key can', async () => {
    for (const r of [
      await call(`${s.base}/keys`, { key: a.key }),
      await call(`${s.base}/keys`, { key: a.key, body: { name: 'escalate' } }),
      await call(`${s.base}/keys/${a.keyId}`, { key: a.key, method: 'DELETE' }),
    ]) {
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('forbidden');
    }
    const adminBySession = await sessionCall(ann, `${s.base}/keys`, { body: { scopes: ['admin'] } });
    expect(adminBySession.status).toBe(403);
    const admin = await s.account({ name: 'Operator', scopes: ['admin'] });
    const byAdmin = await call(`${s.base}/keys`, { key: admin.key, body: { name: 'second admin', scopes: ['admin'] } });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.json.scopes).toEqual(['admin']);
    expect((await call(`${s.base}/keys`, { key: a.key, body: { scopes: ['root'] } })).status).toBe(400);
  });
});
