/**
 * The SDK runtime (generator/templates/sdk-runtime/, shipped as generated/sdk-runtime*.gen.ts)
 * against a real node:http server: no fetch mocks.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ApiClient,
  AuthenticationError,
  ConflictError,
  ConnectionError,
  IdempotencyError,
  InsufficientCreditsError,
  LavendlyError,
  NotFoundError,
  RateLimitError,
  ServerError,
  TimeoutError,
  ValidationError,
  WaitTimeoutError,
  WebhookVerificationError,
  signWebhook,
  splitParams,
  type OperationDescriptor,
} from '../../generator/templates/sdk-runtime/index.js';
import { verifyWebhook } from '../../generator/templates/sdk-runtime/webhooks.js';

const base = { args: {}, bodyMode: 'none', bodyRequired: false, contentType: null, idempotencyHeader: null, pagination: null, asyncJob: null } as const;
const operations: Record<string, OperationDescriptor> = {
  create_thing: {
    ...base,
    method: 'post',
    path: '/things',
    bodyMode: 'flat',
    bodyRequired: true,
    contentType: 'application/json',
    idempotencyHeader: 'Idempotency-Key',
  },
  create_plain: { ...base, method: 'post', path: '/plain', bodyMode: 'flat', bodyRequired: true, contentType: 'application/json' },
  create_call: { ...base, method: 'post', path: '/calls', bodyMode: 'flat', bodyRequired: true, contentType: 'application/x-www-form-urlencoded' },
  get_thing: { ...base, method: 'get', path: '/things/{id}', args: { id: { in: 'path', name: 'id' } } },
  list_items: {
    ...base,
    method: 'get',
    path: '/items',
    args: { limit: { in: 'query', name: 'limit' }, cursor: { in: 'query', name: 'cursor' } },
    pagination: 'cursor',
  },
  start_job: {
    ...base,
    method: 'post',
    path: '/jobs',
    bodyMode: 'flat',
    contentType: 'application/json',
    asyncJob: { poll: 'get_job', args: { id: 'job.id' }, statusField: 'status', terminal: ['succeeded', 'failed'] },
  },
  get_job: { ...base, method: 'get', path: '/jobs/{id}', args: { id: { in: 'path', name: 'id' } } },
  fail: { ...base, method: 'get', path: '/fail/{code}', args: { code: { in: 'path', name: 'code' } } },
  slow: { ...base, method: 'get', path: '/slow' },
};

// ---- the server ------------------------------------------------------------------------------
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
let server: Server;
let baseUrl: string;
let seen: Seen[] = [];
let script: ((req: Seen, res: ServerResponse) => void) | null = null;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // A request left in flight by an earlier test (an aborted poll) may land during a later
      // one; each test's client tags its requests, so strays are answered and not counted.
      if (req.headers['x-test-run'] !== String(testRun)) return json(res, 410, {});
      const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      script?.(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
let testRun = 0;
beforeEach(() => {
  testRun++;
  seen = [];
  script = null;
});

function client(options: Partial<ConstructorParameters<typeof ApiClient>[1]> = {}) {
  return new ApiClient(operations, { apiKey: 'sk_test', baseUrl, backoff: { initialDelay: 10, maxDelay: 40 }, ...options, headers: { 'x-test-run': String(testRun), ...options.headers } }, {
    name: 'test',
    version: '0.0.0',
    baseUrl: 'http://unused',
    envPrefix: 'SDK_RUNTIME_TEST',
  });
}

// ---- tests -----------------------------------------------------------------------------------
describe('retries and idempotency', () => {
  it('reuses one idempotency key across retries, and the server creates one object', async () => {
    const created = new Map<string, { id: string; name: string }>();
    let n = 0;
    script = (req, res) => {
      n++;
      const key = String(req.headers['idempotency-key']);
      if (!created.has(key)) created.set(key, { id: `thing_${created.size + 1}`, ...JSON.parse(req.body) });
      if (n === 1) return void res.socket!.destroy(); // committed, then the connection died
      if (n === 2) return json(res, 503, { error: { code: 'unavailable', message: 'busy', request_id: 'req_2' } });
      json(res, 201, created.get(key));
    };
    const thing = await client().call('create_thing', { name: 'fox' });
    expect(thing).toEqual({ id: 'thing_1', name: 'fox' });
    expect(seen).toHaveLength(3);
    const keys = seen.map((s) => s.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.size).toBe(1);
    expect(seen[0]!.headers.authorization).toBe('Bearer sk_test');
    expect(seen[0]!.headers['content-type']).toBe('application/json');
  });

  it('sends the caller-given idempotency key', async () => {
    script = (_req, res) => json(res, 201, { ok: true });
    await client().call('create_thing', { name: 'x' }, { idempotencyKey: 'wf:2026-01-01' });
    expect(seen[0]!.headers['idempotency-key']).toBe('wf:2026-01-01');
  });

  it('does not retry a non-idempotent POST on 5xx', async () => {
    script = (_req, res) => json(res, 500, { error: { code: 'internal_error', message: 'boom', request_id: 'req_x' } });
    const err = await client().call('create_plain', { a: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers['idempotency-key']).toBeUndefined();
  });

  it('waits out a 429 with Retry-After: 1', async () => {
    script = (_req, res) =>
      seen.length === 1
        ? json(res, 429, { error: { code: 'rate_limited', message: 'slow down', request_id: 'r' } }, { 'retry-after': '1' })
        : json(res, 200, { id: 't1' });
    const started = Date.now();
    expect(await client().call('get_thing', { id: 't1' })).toEqual({ id: 't1' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.url).toBe('/things/t1');
  });

  it('gives up after maxRetries with a typed RateLimitError', async () => {
    script = (_req, res) => json(res, 429, { error: { code: 'rate_limited', message: 'no', request_id: 'r9' } }, { 'retry-after': '0' });
    const err = await client({ maxRetries: 2 }).call('get_thing', { id: 'a' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfter).toBe(0);
    expect(seen).toHaveLength(3);
  });

  it('honours Retry-After as an HTTP date', async () => {
    script = (_req, res) =>
      seen.length === 1
        ? json(res, 503, { error: { code: 'unavailable', message: 'later', request_id: 'r' } }, { 'retry-after': new Date(Date.now() + 1500).toUTCString() })
        : json(res, 200, { ok: true });
    const started = Date.now();
    await client().call('get_thing', { id: 'a' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(400); // HTTP dates have one-second resolution
    expect(seen).toHaveLength(2);
  });

  it('times an attempt out, retries it, then throws a TimeoutError', async () => {
    script = () => {}; // never answers
    const err = await client({ timeout: 100, maxRetries: 1 }).call('slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(seen).toHaveLength(2);
  });

  it("stops at once when the caller's signal aborts", async () => {
    script = () => {};
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('user cancelled')), 50);
    const err = await client().call('slow', {}, { signal: ac.signal }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('user cancelled');
    expect(seen).toHaveLength(1);
  });

  it('reports a refused connection as a ConnectionError after retrying', async () => {
    const c = new ApiClient(operations, { baseUrl: 'http://127.0.0.1:1', maxRetries: 1, backoff: { initialDelay: 1 } }, {
      name: 't', version: '0', baseUrl: '', envPrefix: 'X',
    });
    const err = await c.call('get_thing', { id: 'a' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).status).toBe(0);
  });
});

describe('typed errors', () => {
  it('turns a 400 into a ValidationError with its issues', async () => {
    const issues = { body: [{ path: ['name'], message: 'Required', code: 'invalid_type' }], query: [{ path: ['limit'], message: 'Too big', code: 'too_big' }] };
    script = (_req, res) => json(res, 400, { error: { code: 'validation_error', message: 'The request is invalid.', request_id: 'req_400', issues } });
    const err = await client().call('create_plain', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v).toBeInstanceOf(LavendlyError);
    expect(v.status).toBe(400);
    expect(v.code).toBe('validation_error');
    expect(v.requestId).toBe('req_400');
    expect(v.message).toBe('The request is invalid.');
    expect(v.issues).toEqual(issues);
    expect(v.issueList.map((i) => `${i.location}:${i.path.join('.')}`)).toEqual(['body:name', 'query:limit']);
  });

  it.each([
    [401, 'unauthorized', AuthenticationError],
    [402, 'insufficient_credits', InsufficientCreditsError],
    [404, 'not_found', NotFoundError],
    [409, 'conflict', ConflictError],
    [409, 'idempotency_key_reused', IdempotencyError],
    [418, 'teapot', LavendlyError],
  ] as const)('maps %i %s', async (status, code, cls) => {
    script = (_req, res) => json(res, status, { error: { code, message: 'm', request_id: 'rid', needed: 12, available: 3 } });
    const err = await client().call('fail', { code }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect((err as LavendlyError).details).toMatchObject({ needed: 12, available: 3 });
    if (err instanceof InsufficientCreditsError) expect([err.needed, err.available]).toEqual([12, 3]);
  });

  it('keeps a non-envelope error body and the x-request-id header', async () => {
    script = (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain', 'x-request-id': 'hdr_1' });
      res.end('nope');
    };
    const err = (await client().call('fail', { code: 'x' }).catch((e: unknown) => e)) as LavendlyError;
    expect(err).toBeInstanceOf(NotFoundError);
    expect([err.code, err.requestId, err.message]).toEqual(['http_404', 'hdr_1', 'HTTP 404: nope']);
  });
});

describe('pagination', () => {
  it('walks 250 items exactly once', async () => {
    const all = Array.from({ length: 250 }, (_, i) => ({ id: `item_${i}` }));
    script = (req, res) => {
      const q = new URL(req.url, 'http://x').searchParams;
      const limit = Number(q.get('limit') ?? 20);
      const start = q.get('cursor') ? Number(Buffer.from(q.get('cursor')!, 'base64url').toString()) : 0;
      const data = all.slice(start, start + limit);
      const more = start + limit < all.length;
      json(res, 200, { data, has_more: more, next_cursor: more ? Buffer.from(String(start + limit)).toString('base64url') : null });
    };
    const c = client();
    const ids: string[] = [];
    for await (const item of c.paginate('list_items', { limit: 7 }) as AsyncIterable<{ id: string }>) ids.push(item.id);
    expect(ids).toEqual(all.map((a) => a.id));
    expect(new Set(ids).size).toBe(250);
    expect(seen).toHaveLength(Math.ceil(250 / 7));
    expect(seen.every((s) => s.url.includes('limit=7'))).toBe(true);

    seen = [];
    const first = (await c.paginate('list_items', { limit: 100 })) as { data: unknown[]; has_more: boolean };
    expect(first.data).toHaveLength(100);
    expect(first.has_more).toBe(true);
    expect(seen).toHaveLength(1);
  });

  it('refuses a cursor loop', async () => {
    script = (_req, res) => json(res, 200, { data: [1], has_more: true, next_cursor: 'same' });
    await expect(client().paginate('list_items', {}).toArray()).rejects.toThrow(/twice/);
  });
});

describe('waitForJob', () => {
  it('polls with args from the job until a terminal state', async () => {
    let polls = 0;
    script = (req, res) => {
      if (req.method === 'POST') return json(res, 202, { job: { id: 'job_1' }, status: 'queued' });
      polls++;
      expect(req.url).toBe('/jobs/job_1');
      json(res, 200, { id: 'job_1', status: polls < 3 ? 'running' : 'succeeded', progress: polls / 3 });
    };
    const c = client();
    const job = await c.call('start_job', {});
    const seenPolls: unknown[] = [];
    const done = await c.waitForJob('start_job', job, { interval: 20, timeout: 5_000, onPoll: (b) => seenPolls.push(b) });
    expect(done).toEqual({ id: 'job_1', status: 'succeeded', progress: 1 });
    expect(polls).toBe(3);
    expect(seenPolls).toHaveLength(3);
  });

  it('gives up at its timeout with the last polled body', async () => {
    script = (_req, res) => json(res, 200, { id: 'job_2', status: 'running' });
    const started = Date.now();
    const err = await client().waitForJob('start_job', { job: { id: 'job_2' } }, { interval: 50, timeout: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).last).toEqual({ id: 'job_2', status: 'running' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('gives up at its timeout even while a poll hangs', async () => {
    script = () => {};
    const started = Date.now();
    const err = await client().waitForJob('start_job', { job: { id: 'j' } }, { interval: 10, timeout: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('stops on its AbortSignal', async () => {
    script = (_req, res) => json(res, 200, { status: 'running' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop')), 100);
    await expect(client().waitForJob('start_job', { job: { id: 'j' } }, { interval: 20, signal: ac.signal })).rejects.toThrow('stop');
  });
});

describe('request building', () => {
  it('splits flattened params by the argument table', () => {
    const op: OperationDescriptor = {
      ...base,
      method: 'post',
      path: '/w/{id}',
      args: { id: { in: 'path', name: 'id' }, dry_run: { in: 'query', name: 'dry-run' }, body_id: { in: 'body', name: 'id' } },
      bodyMode: 'flat',
    };
    expect(splitParams('x', op, { id: 'w1', dry_run: true, body_id: 'b', name: 'n' })).toEqual({
      path: { id: 'w1' },
      query: { 'dry-run': true },
      headers: {},
      body: { id: 'b', name: 'n' },
    });
    expect(splitParams('x', op, { id: 'w1' })).toEqual({ path: { id: 'w1' }, query: {}, headers: {} });
    const single: OperationDescriptor = { ...op, bodyMode: 'single', bodyArg: 'body', args: { body: { in: 'body', name: 'body' } } };
    expect(splitParams('x', single, { body: [1, 2] }).body).toEqual([1, 2]);
    expect(() => splitParams('x', single, { nope: 1 })).toThrow(/unknown argument 'nope'/);
  });

  it('reads the argument table by own keys: a flat body field named constructor or toString is a body field', () => {
    const op: OperationDescriptor = { ...base, method: 'post', path: '/w/{id}', args: { id: { in: 'path', name: 'id' } }, bodyMode: 'flat' };
    expect(splitParams('x', op, { id: 'w1', constructor: 'c', toString: 't' })).toEqual({ path: { id: 'w1' }, query: {}, headers: {}, body: { constructor: 'c', toString: 't' } });
    const single: OperationDescriptor = { ...op, bodyMode: 'single', bodyArg: 'body', args: { body: { in: 'body', name: 'body' } } };
    expect(() => splitParams('x', single, { body: 1, hasOwnProperty: 1 })).toThrow(/unknown argument 'hasOwnProperty'/);
  });

  it('knows no operation named like an Object.prototype member', () => {
    for (const id of ['constructor', 'toString', '__proto__']) expect(() => client().operation(id), id).toThrow(`unknown operation '${id}'`);
  });

  it('encodes path and query values', async () => {
    script = (_req, res) => json(res, 200, {});
    await client().request('get_thing', { path: { id: 'a b/c' } });
    await client().call('list_items', { limit: 5, cursor: 'c/1' });
    expect(seen.map((s) => s.url)).toEqual(['/things/a%20b%2Fc', '/items?limit=5&cursor=c%2F1']);
  });

  it('sends an array in a form body as its key repeated, as form parsers read it', async () => {
    // Twilio's CreateCall: StatusCallbackEvent went out as one field holding '["initiated","ringing"]'.
    script = (_req, res) => json(res, 201, {});
    await client().call('create_call', { To: '+15550001', StatusCallbackEvent: ['initiated', 'ringing'], Timeout: 30, Record: undefined });
    expect(seen[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect([...new URLSearchParams(seen[0]!.body)]).toEqual([['To', '+15550001'], ['StatusCallbackEvent', 'initiated'], ['StatusCallbackEvent', 'ringing'], ['Timeout', '30']]);
  });
});

describe('verifyWebhook', () => {
  const secret = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
  const payload = JSON.stringify({ type: 'render.succeeded', data: { id: 'rnd_1' } });

  function signed(at = new Date()) {
    const id = 'msg_1';
    const signature = new Webhook(secret).sign(id, at, payload);
    return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
  }

  it('accepts a delivery signed by the standardwebhooks package', async () => {
    expect(await verifyWebhook(payload, signed(), secret)).toEqual(JSON.parse(payload));
    expect(await verifyWebhook(Buffer.from(payload), new Headers(signed()), secret)).toEqual(JSON.parse(payload));
  });

  it('accepts any matching signature of several', async () => {
    const h = signed();
    h['webhook-signature'] = `v1,${Buffer.alloc(32).toString('base64')} v1,not*base64 ${h['webhook-signature']}`;
    expect(await verifyWebhook(payload, h, secret)).toBeTruthy();
  });

  it('rejects a tampered body', async () => {
    await expect(verifyWebhook(payload.replace('rnd_1', 'rnd_2'), signed(), secret)).rejects.toThrow(WebhookVerificationError);
  });

  it('rejects an old or a future timestamp', async () => {
    await expect(verifyWebhook(payload, signed(new Date(Date.now() - 6 * 60_000)), secret)).rejects.toThrow(/too old/);
    await expect(verifyWebhook(payload, signed(new Date(Date.now() + 6 * 60_000)), secret)).rejects.toThrow(/too new/);
    expect(await verifyWebhook(payload, signed(new Date(Date.now() - 4 * 60_000)), secret)).toBeTruthy();
  });

  it('rejects a wrong secret and missing headers', async () => {
    const other = 'whsec_' + Buffer.from('another secret of thirty-two b!!').toString('base64');
    await expect(verifyWebhook(payload, signed(), other)).rejects.toThrow(/no matching/);
    await expect(verifyWebhook(payload, { 'webhook-id': 'x' }, secret)).rejects.toThrow(/missing/);
    await expect(verifyWebhook(payload, signed(), 'whsec_not base64!')).rejects.toThrow(/not base64/);
  });

  it('rejects a signed payload that is JSON but not an object, as the Python SDK does', async () => {
    for (const body of ['null', '[]', '1', '"render.succeeded"']) {
      const ts = Math.floor(Date.now() / 1000);
      const headers = { 'webhook-id': 'msg_2', 'webhook-timestamp': String(ts), 'webhook-signature': await signWebhook(secret, 'msg_2', ts, body) };
      await expect(verifyWebhook(body, headers, secret), body).rejects.toThrow(/not a JSON object/);
    }
  });

  it('signs what the standardwebhooks package verifies', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const sig = await signWebhook(secret, 'msg_9', ts, payload);
    expect(new Webhook(secret).verify(payload, { 'webhook-id': 'msg_9', 'webhook-timestamp': String(ts), 'webhook-signature': sig })).toEqual(
      JSON.parse(payload),
    );
  });
});
