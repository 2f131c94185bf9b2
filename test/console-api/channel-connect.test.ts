import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChannelForPublish } from '../../src/publish/index.js';
import { codeChallengeS256 } from '../../src/oauth/pkce.js';
import { testDatabases } from '../helpers/db.js';
import { startFakeOAuth, type FakeOAuth } from '../helpers/fake-oauth.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { sessionCall, signedInUser, type ConsoleSession } from '../helpers/console-session.js';

describe.each(testDatabases())('connecting a YouTube channel through OAuth on %s', (kind) => {
  let s: TestServer;
  let fake: FakeOAuth;
  let a: { id: string; key: string };
  let ann: ConsoleSession;
  let bo: ConsoleSession;

  beforeAll(async () => {
    fake = await startFakeOAuth();
    s = await startTestServer(kind, { services: { oauthProviders: { youtube: fake.provider('youtube') } } });
    // The redirect URI the platform sends the browser back to is built from the public URL.
    s.config.publicBaseUrl = s.origin;
    a = await s.account({ name: 'A' });
    const b = await s.account({ name: 'B' });
    ann = await signedInUser(s, a.id, 'ann@example.org');
    bo = await signedInUser(s, b.id, 'bo@example.org');
  });
  afterAll(async () => {
    await s.close();
    await fake.close();
  });

  /** Starts a flow as `who` and follows the fake's consent redirect: the callback URL the browser would load. */
  async function consent(who: ConsoleSession, body: unknown = { platform: 'youtube', name: 'Fox & Folio' }): Promise<{ callback: string; authorize: URL }> {
    const started = await sessionCall(who, `${s.base}/channels/connect`, { body });
    expect(started.status).toBe(200);
    const authorize = new URL(started.json.authorize_url);
    const res = await fetch(authorize, { redirect: 'manual' });
    expect(res.status).toBe(302);
    return { callback: res.headers.get('location')!, authorize };
  }

  async function land(callback: string, cookie?: string): Promise<string> {
    const res = await fetch(callback, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    expect(res.status).toBe(303);
    return res.headers.get('location')!;
  }

  it('authorize URL carries S256 PKCE and state; the callback exchanges the code with the verifier and seals the tokens', async () => {
    const { callback, authorize } = await consent(ann);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(fake.authorizeUrl);
    const q = authorize.searchParams;
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('redirect_uri')).toBe(`${s.origin}/oauth/channels/callback`);
    expect(q.get('client_id')).toBe(fake.clientId);

    const target = await land(callback, ann.cookie);
    expect(target).toMatch(/^\/settings\/channels\?connected=ch_/);
    const channelId = new URL(target, s.origin).searchParams.get('connected')!;

    const exchange = fake.tokenRequests.at(-1)!;
    expect(exchange.status).toBe(200);
    expect(codeChallengeS256(exchange.form.get('code_verifier')!)).toBe(q.get('code_challenge'));

    const listed = await sessionCall(ann, `${s.base}/channels`);
    expect(listed.json.data).toContainEqual(expect.objectContaining({ id: channelId, platform: 'youtube', name: 'Fox & Folio' }));
    const tokens = fake.issued.at(-1)!;
    const row = await s.fresh.db('channels').where({ id: channelId }).first();
    expect(row.account_id).toBe(a.id);
    expect(row.credentials_sealed).not.toContain(tokens.access_token);
    const opened = await loadChannelForPublish(s.fresh.db, channelId, { dataDir: s.config.dataDir });
    expect(opened.credentials).toMatchObject({ access_token: tokens.access_token, refresh_token: tokens.refresh_token, client_id: fake.clientId });

    // The same callback again: the state was used up.
    expect(await land(callback, ann.cookie)).toBe('/settings/channels?error=invalid_state');
  });

  it('refuses a callback from another session or none, a forged state, and a denied consent', async () => {
    const before = (await s.fresh.db('channels').count({ n: '*' }).first())!.n;
    const first = await consent(ann);
    expect(await land(first.callback, bo.cookie)).toBe('/settings/channels?error=session_mismatch');
    const second = await consent(ann);
    expect(await land(second.callback)).toBe('/settings/channels?error=session_mismatch');
    const forged = new URL(second.callback);
    forged.searchParams.set('state', 'A'.repeat(43));
    expect(await land(forged.toString(), ann.cookie)).toBe('/settings/channels?error=invalid_state');
    const denied = new URL(second.callback);
    const third = await consent(ann);
    denied.searchParams.delete('code');
    denied.searchParams.set('error', 'access_denied');
    denied.searchParams.set('state', new URL(third.callback).searchParams.get('state')!);
    expect(await land(denied.toString(), ann.cookie)).toBe('/settings/channels?error=access_denied');
    expect((await s.fresh.db('channels').count({ n: '*' }).first())!.n).toEqual(before);
  });

  it('a token endpoint that refuses ends in token_exchange_failed; the fake itself refuses a wrong verifier', async () => {
    const { callback } = await consent(ann);
    s.services.oauthProviders = { youtube: { ...fake.provider('youtube'), clientSecret: 'wrong' } };
    try {
      expect(await land(callback, ann.cookie)).toBe('/settings/channels?error=token_exchange_failed');
    } finally {
      s.services.oauthProviders = { youtube: fake.provider('youtube') };
    }
    expect(fake.tokenRequests.at(-1)).toMatchObject({ status: 401, error: 'invalid_client' });

    // PKCE at the fake: a code redeemed with a verifier that does not hash to its challenge.
    const again = await consent(ann);
    const code = new URL(again.callback).searchParams.get('code')!;
    const res = await fetch(fake.tokenUrl, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${s.origin}/oauth/channels/callback`, client_id: fake.clientId, client_secret: fake.clientSecret, code_verifier: 'x'.repeat(43) }),
    });
    expect(res.status).toBe(400);
    expect((await res.json() as any).error).toBe('invalid_grant');
  });

  it('only a signed-in person may start; an unconfigured platform answers 501', async () => {
    const byKey = await call(`${s.base}/channels/connect`, { key: a.key, body: { platform: 'youtube' } });
    expect(byKey.status).toBe(403);
    expect(byKey.json.error.code).toBe('forbidden');
    const noCsrf = await sessionCall(ann, `${s.base}/channels/connect`, { body: { platform: 'youtube' }, csrf: false });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.json.error.code).toBe('csrf_failed');
    const tiktok = await sessionCall(ann, `${s.base}/channels/connect`, { body: { platform: 'tiktok' } });
    expect(tiktok.status).toBe(501);
    expect(tiktok.json.error.code).toBe('not_implemented');
    expect((await sessionCall(ann, `${s.base}/channels/connect`, { body: { platform: 'local' } })).status).toBe(400);
  });

  it('disconnects: credentials erased, gone from the list, not publishable; plain keys cannot', async () => {
    const { callback } = await consent(ann, { platform: 'youtube' });
    const channelId = new URL(await land(callback, ann.cookie), s.origin).searchParams.get('connected')!;
    expect((await call(`${s.base}/channels/${channelId}`, { key: a.key, method: 'DELETE' })).status).toBe(403);
    expect((await sessionCall(bo, `${s.base}/channels/${channelId}`, { method: 'DELETE' })).status).toBe(404);
    const gone = await sessionCall(ann, `${s.base}/channels/${channelId}`, { method: 'DELETE' });
    expect(gone.status).toBe(204);
    const listed = await sessionCall(ann, `${s.base}/channels`);
    expect(listed.json.data.map((c: any) => c.id)).not.toContain(channelId);
    expect((await loadChannelForPublish(s.fresh.db, channelId, { dataDir: s.config.dataDir })).credentials).toEqual({});
    expect((await sessionCall(ann, `${s.base}/channels/${channelId}`, { method: 'DELETE' })).status).toBe(404);
  });
});
