import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { MAX_SESSIONS_PER_USER } from '../../src/console-auth/sessions.js';
import { createUser } from '../../src/console-auth/users.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { sessionCall, signIn } from '../helpers/console-session.js';

const PASSWORD = 'correct horse battery';

describe.each(testDatabases())('console sign-in on %s', (kind) => {
  let s: TestServer;
  let account: { id: string; key: string };

  beforeAll(async () => {
    s = await startTestServer(kind);
    account = await s.account({ name: 'Console' });
    await createUser(s.fresh.db, { accountId: account.id, email: 'Ann@Example.org', password: PASSWORD });
  });
  afterAll(async () => { await s.close(); });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    call(`${s.origin}${path}`, { body, headers });

  it('signs in with the email in any case: 200 with the account and a CSRF token, an HttpOnly SameSite=Lax cookie', async () => {
    const r = await post('/auth/sign-in', { email: '  ANN@example.ORG ', password: PASSWORD });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ email: 'ann@example.org', account_id: account.id, csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const cookie = r.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^lavendly_session=[A-Za-z0-9_-]{43}; /);
    const attrs = cookie.split(';').map((a) => a.trim().toLowerCase());
    expect(attrs).toContain('httponly');
    expect(attrs).toContain('samesite=lax');
    expect(attrs).toContain('path=/');
    expect(attrs).not.toContain('secure'); // plain http here
    expect(r.headers.get('cache-control')).toBe('no-store');
    // The token is stored only as a hash.
    const token = cookie.split(';')[0]!.split('=')[1]!;
    const rows = await s.fresh.db('user_sessions').select('token_hash');
    expect(rows.some((row) => row.token_hash === token)).toBe(false);
  });

  it('answers a wrong password and an unknown email alike: 401 invalid_credentials', async () => {
    const wrong = await post('/auth/sign-in', { email: 'ann@example.org', password: 'not the password' });
    const unknown = await post('/auth/sign-in', { email: 'nobody@example.org', password: PASSWORD });
    for (const r of [wrong, unknown]) {
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('invalid_credentials');
      expect(r.headers.get('set-cookie')).toBeNull();
    }
    expect(wrong.json.error.message).toBe(unknown.json.error.message);
  });

  it('refuses malformed bodies with 400/415, never 500', async () => {
    expect((await post('/auth/sign-in', { email: 'ann@example.org' })).status).toBe(400);
    expect((await post('/auth/sign-in', [1, 2])).status).toBe(400);
    expect((await call(`${s.origin}/auth/sign-in`, { rawBody: '{"email":', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    const form = await call(`${s.origin}/auth/sign-in`, { rawBody: 'email=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect((await call(`${s.origin}/auth/sign-in`)).status).toBe(405);
  });

  it('GET /auth/session answers the signed-in user, and 401 without a live session', async () => {
    const session = await signIn(s.origin, 'ann@example.org', PASSWORD);
    const me = await sessionCall(session, `${s.origin}/auth/session`);
    expect(me.status).toBe(200);
    expect(me.json).toEqual({ email: 'ann@example.org', account_id: account.id, csrf_token: session.csrf });
    expect((await call(`${s.origin}/auth/session`)).status).toBe(401);
    expect((await call(`${s.origin}/auth/session`, { headers: { cookie: 'lavendly_session=forged' } })).json.error.code).toBe('unauthorized');
  });

  it('sign-out needs the CSRF token, deletes the session on the server and clears the cookie', async () => {
    const session = await signIn(s.origin, 'ann@example.org', PASSWORD);
    expect((await sessionCall(session, `${s.origin}/auth/sign-out`, { method: 'POST', csrf: false })).status).toBe(403);
    const before = Number((await s.fresh.db('user_sessions').count({ n: '*' }).first())!.n);
    const out = await sessionCall(session, `${s.origin}/auth/sign-out`, { method: 'POST' });
    expect(out.status).toBe(204);
    const cleared = out.headers.get('set-cookie')!;
    expect(cleared).toMatch(/^lavendly_session=;/);
    expect(cleared).toMatch(/Max-Age=0/);
    expect(Number((await s.fresh.db('user_sessions').count({ n: '*' }).first())!.n)).toBe(before - 1);
    // The old cookie is worth nothing now, on the console and on the API.
    expect((await sessionCall(session, `${s.origin}/auth/session`)).status).toBe(401);
    expect((await sessionCall(session, `${s.base}/workflows`)).status).toBe(401);
  });

  it('a sign-in POST from another origin is refused', async () => {
    const r = await post('/auth/sign-in', { email: 'ann@example.org', password: PASSWORD }, { origin: 'https://evil.example' });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('csrf_failed');
  });

  it('sessions end on their own after the idle limit', async () => {
    const session = await signIn(s.origin, 'ann@example.org', PASSWORD);
    // Age the session as if the user had been away for 8 days.
    const old = new Date(Date.now() - 8 * 24 * 3600_000).toISOString();
    const token = session.cookie.split('=')[1]!;
    const { createHash } = await import('node:crypto');
    await s.fresh.db('user_sessions').where({ token_hash: createHash('sha256').update(token).digest('hex') }).update({ last_seen_at: old });
    expect((await sessionCall(session, `${s.origin}/auth/session`)).status).toBe(401);
  });

  it('a user holds at most MAX_SESSIONS_PER_USER sessions: a sign-in forgets ended ones and the oldest beyond it', async () => {
    await createUser(s.fresh.db, { accountId: account.id, email: 'many@example.org', password: PASSWORD });
    const first = await signIn(s.origin, 'many@example.org', PASSWORD);
    const userId = (await s.fresh.db('users').where({ email: 'many@example.org' }).first('id')).id as string;
    // As if signed in 150 more times before (each sign-in costs a password hash), and 20 sessions idle 8 days.
    const iso = (ms: number) => new Date(ms).toISOString();
    const now = Date.now();
    const rows = Array.from({ length: 170 }, (_, i) => ({
      id: `ses_soak${String(i).padStart(4, '0')}`, user_id: userId, token_hash: `h${String(i).padStart(63, '0')}`,
      created_at: iso(now - 100_000 + i * 10), last_seen_at: iso(i < 20 ? now - 8 * 24 * 3600_000 : now), expires_at: iso(now + 24 * 3600_000),
    }));
    for (let i = 0; i < rows.length; i += 50) await s.fresh.db('user_sessions').insert(rows.slice(i, i + 50));
    const latest = await signIn(s.origin, 'many@example.org', PASSWORD);
    const left = await s.fresh.db('user_sessions').where({ user_id: userId }).pluck('id');
    expect(left).toHaveLength(MAX_SESSIONS_PER_USER);
    // The 20 idle ones went, then the oldest 52 of 152: the latest, the first and the newest 98 inserted stay.
    expect(left.filter((id: string) => id.startsWith('ses_soak')).sort()[0]).toBe('ses_soak0072');
    expect((await sessionCall(latest, `${s.origin}/auth/session`)).status).toBe(200);
    expect((await sessionCall(first, `${s.origin}/auth/session`)).status).toBe(200);
  });
});

describe('console sign-in behind HTTPS and under attack', () => {
  let s: TestServer;
  let account: { id: string };

  beforeAll(async () => {
    const { consoleAuth } = loadConfig({ LAVENDLY_SIGN_IN_FAILURES_PER_MINUTE: '5' });
    s = await startTestServer('sqlite', { config: { publicBaseUrl: 'https://console.example.org', consoleAuth } });
    account = await s.account();
    await createUser(s.fresh.db, { accountId: account.id, email: 'bo@example.org', password: PASSWORD });
  });
  afterAll(async () => { await s.close(); });

  it('marks the cookie Secure when the public URL is https, and accepts that origin', async () => {
    const r = await call(`${s.origin}/auth/sign-in`, { body: { email: 'bo@example.org', password: PASSWORD }, headers: { origin: 'https://console.example.org' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('set-cookie')!.split(';').map((a) => a.trim())).toContain('Secure');
  });

  it('after 5 failures a minute even the right password is refused with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(`${s.origin}/auth/sign-in`, { body: { email: 'bo@example.org', password: `guess number ${i}` } })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const right = await call(`${s.origin}/auth/sign-in`, { body: { email: 'bo@example.org', password: PASSWORD } });
    expect(right.status).toBe(429);
    expect(right.json.error.code).toBe('rate_limited');
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(right.headers.get('set-cookie')).toBeNull();
  });
});

describe('console sign-in behind a trusted TLS proxy', () => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer('sqlite', { config: { trustProxy: 1 } });
    const account = await s.account();
    await createUser(s.fresh.db, { accountId: account.id, email: 'cy@example.org', password: PASSWORD });
  });
  afterAll(async () => { await s.close(); });

  it('marks the cookie Secure when the proxy says the browser came over HTTPS, and not otherwise', async () => {
    const body = { email: 'cy@example.org', password: PASSWORD };
    const viaTls = await call(`${s.origin}/auth/sign-in`, { body, headers: { 'x-forwarded-proto': 'https' } });
    expect(viaTls.status).toBe(200);
    expect(viaTls.headers.get('set-cookie')!.split(';').map((a) => a.trim())).toContain('Secure');
    const plain = await call(`${s.origin}/auth/sign-in`, { body });
    expect(plain.headers.get('set-cookie')!.split(';').map((a) => a.trim())).not.toContain('Secure');
  });
});
