import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { counters, mountFixtures, resetCounters } from './fixture-ops.js';

describe.each(testDatabases())('HTTP runtime on %s', (kind) => {
  let s: TestServer;
  let alice: { id: string; key: string; keyId: string };
  let bob: { id: string; key: string; keyId: string };

  beforeAll(async () => {
    s = await startTestServer(kind, { mount: mountFixtures, jsonBodyLimit: 64 * 1024 });
    alice = await s.account({ name: 'Alice' });
    bob = await s.account({ name: 'Bob', scopes: ['admin'] });
  });
  afterAll(async () => { await s.close(); });
  beforeEach(() => resetCounters());

  describe('request ids', () => {
    it('echoes a valid X-Request-Id and puts it in the envelope', async () => {
      const r = await call(`${s.base}/things/nope`, { headers: { 'x-request-id': 'client-123' } });
      expect(r.headers.get('x-request-id')).toBe('client-123');
      expect(r.json.error.request_id).toBe('client-123');
    });
    it('replaces a missing or invalid id with a generated one', async () => {
      const r1 = await call(`${s.base}/open`);
      expect(r1.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{12}_[0-9a-z]+$/);
      const r2 = await call(`${s.base}/open`, { headers: { 'x-request-id': 'bad id with spaces' } });
      expect(r2.headers.get('x-request-id')).toMatch(/^req_/);
      expect(r2.headers.get('x-request-id')).not.toBe(r1.headers.get('x-request-id'));
    });
  });

  describe('auth', () => {
    it('401 without a key, with a malformed header, with an unknown key, and with a revoked key', async () => {
      const missing = await call(`${s.base}/things/thing_1`);
      expect(missing.status).toBe(401);
      expect(missing.json.error.code).toBe('unauthorized');
      expect(missing.headers.get('www-authenticate')).toContain('Bearer');
      for (const header of ['Basic abc', 'Bearer', 'Bearer a b', alice.key, `Token ${alice.key}`]) {
        const r = await call(`${s.base}/things/thing_1`, { headers: { authorization: header } });
        expect(r.status, header).toBe(401);
      }
      const unknown = await call(`${s.base}/things/thing_1`, { key: 'lvd_' + 'A'.repeat(43) });
      expect(unknown.status).toBe(401);
      const carol = await s.account({ name: 'Carol' });
      expect((await call(`${s.base}/things/thing_1`, { key: carol.key })).status).toBe(200);
      await s.services.accounts.revokeApiKey(carol.keyId);
      const revoked = await call(`${s.base}/things/thing_1`, { key: carol.key });
      expect(revoked.status).toBe(401);
      expect(revoked.json.error.code).toBe('unauthorized');
    });
    it('403 when the key lacks a scope; the admin key passes', async () => {
      const r = await call(`${s.base}/admin`, { key: alice.key });
      expect(r.status).toBe(403);
      expect(r.json.error).toMatchObject({ code: 'forbidden', required_scopes: ['admin'] });
      expect((await call(`${s.base}/admin`, { key: bob.key })).status).toBe(200);
    });
    it('open operations work without a key and note a valid one', async () => {
      expect((await call(`${s.base}/open`)).json).toEqual({ account: null });
      expect((await call(`${s.base}/open`, { key: alice.key })).json).toEqual({ account: alice.id });
      expect((await call(`${s.base}/open`, { headers: { authorization: 'garbage' } })).status).toBe(200);
    });
    it('never logs the Authorization header or the key', async () => {
      await call(`${s.base}/things/thing_1`, { key: alice.key });
      await call(`${s.base}/boom`, { key: alice.key });
      const text = JSON.stringify(s.logs);
      expect(text).not.toContain(alice.key);
      expect(text).not.toContain(alice.key.slice(4, 20));
      const access = s.logs.filter((l) => l.msg === 'request' && l.path === '/v1/things/thing_1' && l.status === 200).at(-1);
      expect(access).toMatchObject({ method: 'GET', status: 200, account_id: alice.id, operation: 'get_thing' });
    });
  });

  describe('validation and garbage input', () => {
    it('groups issues by location', async () => {
      const r = await call(`${s.base}/things/not-a-thing?verbose=maybe&limit=0`, { key: alice.key, headers: { 'x-trace': 'too long' } });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('validation_error');
      expect(Object.keys(r.json.error.issues).sort()).toEqual(['header', 'path', 'query']);
      expect(r.json.error.issues.path[0].path).toEqual(['id']);
      expect(r.json.error.issues.query.map((i: any) => i.path[0]).sort()).toEqual(['limit', 'verbose']);
      const b = await call(`${s.base}/things`, { key: alice.key, body: { name: 5, extra: true } });
      expect(b.status).toBe(400);
      expect(Object.keys(b.json.error.issues)).toEqual(['body']);
    });
    it('answers 400, never 500, to malformed bodies', async () => {
      const bodies: (string | Buffer)[] = [
        '{', '{"name":', 'null', '[]', '"str"', '{"name":"x","n":1e400}', '{"name":"x","n":123456789012345678901234567890}',
        '{"name":"x","n":1.5}', '{"name":"\u0000\ud83d\ude00"}', '{"__proto__":{"admin":true},"name":"x"}',
        Buffer.from([0xff, 0xfe, 0x7b]), '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
        '{"name":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
      ];
      for (const body of bodies) {
        const r = await call(`${s.base}/things`, { key: alice.key, rawBody: body, headers: { 'content-type': 'application/json', 'idempotency-key': `k-${Math.random()}` } });
        expect([400, 201], String(body).slice(0, 40)).toContain(r.status);
        if (r.status === 400) expect(r.json.error.code).toBe('validation_error');
      }
      const unicode = await call(`${s.base}/things`, { key: alice.key, body: { name: 'façade ☃ 𝄞 \u202e' } });
      expect(unicode.status).toBe(201);
      expect(unicode.json.name).toBe('façade ☃ 𝄞 \u202e');
    });
    it('415 for a body type the operation does not declare', async () => {
      const r = await call(`${s.base}/things`, { key: alice.key, rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(r.status).toBe(415);
      expect(r.json.error).toMatchObject({ code: 'unsupported_media_type', accepted: ['application/json'] });
      const noType = await call(`${s.base}/things`, { key: alice.key, rawBody: '{"name":"x"}' });
      expect([415]).toContain(noType.status);
      const latin = await call(`${s.base}/things`, { key: alice.key, rawBody: '{"name":"x"}', headers: { 'content-type': 'application/json; charset=latin1' } });
      expect(latin.status).toBe(415);
      const withCharset = await call(`${s.base}/things`, { key: alice.key, rawBody: '{"name":"x"}', headers: { 'content-type': 'application/json; charset=UTF-8' } });
      expect(withCharset.status).toBe(201);
    });
    it('413 for a body over the limit', async () => {
      const big = JSON.stringify({ name: 'x'.repeat(100 * 1024) });
      const r = await call(`${s.base}/things`, { key: alice.key, rawBody: big, headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(413);
      expect(r.json.error.code).toBe('payload_too_large');
    });
    it('passes a stream to octet-stream operations', async () => {
      const r = await call(`${s.base}/uploads/u1`, { method: 'PUT', key: alice.key, rawBody: Buffer.alloc(200_000, 7), headers: { 'content-type': 'application/octet-stream' } });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ bytes: 200_000 });
    });
  });

  describe('routing envelopes', () => {
    it('404 for unknown paths, 405 with Allow for a known path', async () => {
      const r404 = await call(`${s.base}/nothing/here`);
      expect(r404.status).toBe(404);
      expect(r404.json.error.code).toBe('not_found');
      const outside = await call(`${s.origin}/elsewhere`);
      expect(outside.status).toBe(404);
      const r405 = await call(`${s.base}/things/thing_1`, { method: 'PATCH', key: alice.key });
      expect(r405.status).toBe(405);
      expect(r405.json.error.code).toBe('method_not_allowed');
      expect(r405.headers.get('allow')).toBe('DELETE, GET, HEAD');
      const opts = await call(`${s.base}/things`, { method: 'OPTIONS' });
      expect(opts.status).toBe(204);
      expect(opts.headers.get('allow')).toBe('POST');
    });
    it('500 internal_error without the cause, which goes to the log', async () => {
      const r = await call(`${s.base}/boom`, { key: alice.key });
      expect(r.status).toBe(500);
      expect(r.json.error.code).toBe('internal_error');
      expect(r.text).not.toContain('hunter2');
      const logged = s.logs.find((l) => l.msg === 'internal error' && l.request_id === r.json.error.request_id);
      expect(JSON.stringify(logged)).toContain('hunter2');
    });
    it('an off-spec response fails loudly when validation is throw', async () => {
      const r = await call(`${s.base}/off-spec`, { key: alice.key });
      expect(r.status).toBe(500);
      expect(JSON.stringify(s.logs)).toContain('ResponseValidationError');
    });
    it('204 has no body', async () => {
      const r = await call(`${s.base}/things/x`, { method: 'DELETE', key: alice.key });
      expect(r.status).toBe(204);
      expect(r.text).toBe('');
    });
  });

  describe('idempotency', () => {
    const post = (key: string, body: unknown, who = alice) =>
      call(`${s.base}/things`, { key: who.key, body, headers: { 'idempotency-key': key } });

    it('replays the stored response byte for byte, marked as replayed', async () => {
      const first = await post('replay-1', { name: 'fox', n: 3 });
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      // Same content, other key order and whitespace: the same request.
      const again = await call(`${s.base}/things`, { key: alice.key, rawBody: '{ "n": 3,  "name": "fox" }', headers: { 'content-type': 'application/json', 'idempotency-key': 'replay-1' } });
      expect(again.status).toBe(201);
      expect(again.text).toBe(first.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe(first.headers.get('location'));
      expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
      expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
      expect(counters.create).toBe(1);
    });
    it('409 idempotency_key_reused for a different body; keys are per account', async () => {
      await post('reuse-1', { name: 'a' });
      const other = await post('reuse-1', { name: 'b' });
      expect(other.status).toBe(409);
      expect(other.json.error.code).toBe('idempotency_key_reused');
      const bobs = await post('reuse-1', { name: 'b' }, bob);
      expect(bobs.status).toBe(201);
      expect(bobs.json.account_id).toBe(bob.id);
    });
    it('400 for empty, too long or non-ASCII keys', async () => {
      for (const key of ['', 'x'.repeat(256), 'clé']) {
        const r = await call(`${s.base}/things`, { key: alice.key, body: { name: 'a' }, headers: { 'idempotency-key': encodeURI(key) === key ? key : key } }).catch(() => null);
        if (r === null) continue; // fetch refuses non-ASCII header values itself
        expect(r.status, JSON.stringify(key)).toBe(400);
        expect(r.json.error.code).toBe('invalid_idempotency_key');
      }
      expect((await post('x'.repeat(255), { name: 'a' })).status).toBe(201);
    });
    it('twenty concurrent requests with one key execute once', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => post('race-1', { name: 'race' })));
      expect(counters.create).toBe(1);
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((st) => st === 201).length).toBeGreaterThanOrEqual(1);
      for (const r of results) {
        if (r.status === 409) expect(r.json.error.code).toBe('idempotency_key_in_progress');
        else expect(r.status).toBe(201);
      }
      const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.json.id));
      expect(ids.size).toBe(1);
      const after = await post('race-1', { name: 'race' });
      expect(after.headers.get('idempotent-replayed')).toBe('true');
      expect(counters.create).toBe(1);
    });
    it('409 idempotency_key_in_progress while the first request still runs', async () => {
      const first = post('slow-1', { name: 'slow' });
      // Wait until the first request holds the claim.
      for (let i = 0; i < 100; i++) {
        const row = await s.fresh.db('idempotency_keys').where({ idem_key: 'slow-1', account_id: alice.id }).first();
        if (row) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const second = await post('slow-1', { name: 'slow' });
      expect(second.status).toBe(409);
      expect(second.json.error.code).toBe('idempotency_key_in_progress');
      expect(second.headers.get('retry-after')).toBe('1');
      expect((await first).status).toBe(201);
      const third = await post('slow-1', { name: 'slow' });
      expect(third.headers.get('idempotent-replayed')).toBe('true');
      expect(counters.create).toBe(1);
    });
    it('a 5xx releases the key so a retry runs; a 4xx is stored and replayed', async () => {
      const key = `flaky-${kind}`;
      const f1 = await call(`${s.base}/flaky`, { key: alice.key, body: { fail: 1 }, headers: { 'idempotency-key': key } });
      expect(f1.status).toBe(500);
      const f2 = await call(`${s.base}/flaky`, { key: alice.key, body: { fail: 1 }, headers: { 'idempotency-key': key } });
      expect(f2.status).toBe(200);
      expect(f2.json).toEqual({ ok: true, calls: 2 });
      const f3 = await call(`${s.base}/flaky`, { key: alice.key, body: { fail: 1 }, headers: { 'idempotency-key': key } });
      expect(f3.text).toBe(f2.text);
      expect(counters.flaky).toBe(2);

      const r1 = await post('rejected-1', { name: 'reject' });
      expect(r1.status).toBe(409);
      const r2 = await post('rejected-1', { name: 'reject' });
      expect(r2.text).toBe(r1.text);
      expect(r2.headers.get('idempotent-replayed')).toBe('true');
      expect(counters.create).toBe(1);
    });
  });
});

describe.each(testDatabases())('windows and limits on %s', (kind) => {
  it('an idempotency key expires after the window', async () => {
    const s = await startTestServer(kind, { mount: mountFixtures, config: { idempotencyWindowS: 1 } });
    try {
      resetCounters();
      const a = await s.account();
      const post = (name: string) => call(`${s.base}/things`, { key: a.key, body: { name }, headers: { 'idempotency-key': 'w' } });
      expect((await post('one')).status).toBe(201);
      expect((await post('two')).status).toBe(409);
      await new Promise((r) => setTimeout(r, 1100));
      const later = await post('two');
      expect(later.status).toBe(201);
      expect(later.json.name).toBe('two');
      expect(await s.app.runtime.idempotencyStore.sweep()).toBeGreaterThanOrEqual(0);
    } finally {
      await s.close();
    }
  });

  it('429 with Retry-After and RateLimit headers once the bucket is empty, per key', async () => {
    const s = await startTestServer(kind, { mount: mountFixtures, config: { rateLimitPerMinute: 3 } });
    try {
      const a = await s.account();
      const b = await s.account();
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push(await call(`${s.base}/things/thing_1`, { key: a.key }));
      expect(seen.map((r) => r.status)).toEqual([200, 200, 200, 429]);
      expect(seen[0]!.headers.get('ratelimit-limit')).toBe('3');
      expect(seen[0]!.headers.get('ratelimit-remaining')).toBe('2');
      const limited = seen[3]!;
      expect(limited.json.error.code).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(limited.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      expect((await call(`${s.base}/things/thing_1`, { key: b.key })).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests (closing their keep-alive connections), then refuses new ones', async () => {
    const s = await startTestServer('sqlite', { mount: mountFixtures });
    try {
      const a = await s.account();
      const agent = new http.Agent({ keepAlive: true });
      const body = JSON.stringify({ name: 'slow' });
      const inflight = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const req = http.request(`${s.base}/things`, {
          method: 'POST', agent,
          headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
        });
        req.on('error', reject);
        req.end(body);
      });
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      const closing = s.running.close(10_000);
      const r = await inflight;
      expect(r.status).toBe(201);
      expect(r.connection).toBe('close');
      await closing;
      // Closed as soon as the in-flight request was done, not after a keep-alive or grace timeout.
      expect(Date.now() - started).toBeLessThan(3_000);
      await expect(fetch(`${s.base}/open`)).rejects.toThrow();
      agent.destroy();
    } finally {
      await s.fresh.close();
    }
  });
});
