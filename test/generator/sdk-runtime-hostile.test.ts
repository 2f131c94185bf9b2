/**
 * The SDK runtime in front of a hostile or broken server (a proxy's HTML page, truncated JSON, a
 * body without end, a redirect to another host): every case ends in a typed LavendlyError with the
 * status and request id, in bounded time and memory, and nothing is sent to a host that is not
 * the API's.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient, InvalidResponseError, LavendlyError, RateLimitError, ServerError, type OperationDescriptor } from '../../generator/templates/sdk-runtime/index.js';
import { signWebhook, verifyWebhook, WebhookVerificationError } from '../../generator/templates/sdk-runtime/webhooks.js';

const base = { args: {}, bodyMode: 'none', bodyRequired: false, contentType: null, idempotencyHeader: null, pagination: null, asyncJob: null } as const;
const operations: Record<string, OperationDescriptor> = {
  get_thing: { ...base, method: 'get', path: '/thing', responseJson: true },
  create_thing: {
    ...base, method: 'post', path: '/things', bodyMode: 'flat', bodyRequired: true, contentType: 'application/json',
    idempotencyHeader: 'Idempotency-Key', responseJson: true,
  },
  get_text: { ...base, method: 'get', path: '/text' },
  detach_part: {
    ...base, method: 'delete', path: '/things/{id}/parts/{part_id}',
    args: { id: { in: 'path', name: 'id' }, part_id: { in: 'path', name: 'part_id' } }, responseJson: false,
  },
  put_upload: {
    ...base, method: 'put', path: '/uploads/{id}', args: { id: { in: 'path', name: 'id' }, token: { in: 'query', name: 'token' } },
    bodyMode: 'single', bodyArg: 'body', bodyRequired: true, contentType: 'application/octet-stream', responseJson: true,
  },
};

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
function listen(handler: Handler): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

let api: Server;
let elsewhere: Server;
let answer: Handler = (_req, res) => res.end();
/** What reached the other host: method, url, headers, body. */
let stolen: { method: string; headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  api = await listen((req, res) => answer(req, res));
  elsewhere = await listen((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      stolen.push({ method: req.method!, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"not_the_api"}');
    });
  });
});
afterAll(async () => {
  for (const s of [api, elsewhere]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});
beforeEach(() => {
  stolen = [];
});

function client(options: Partial<ConstructorParameters<typeof ApiClient>[1]> = {}) {
  return new ApiClient(operations, { apiKey: 'sk_secret', baseUrl: urlOf(api), backoff: { initialDelay: 5, maxDelay: 10 }, ...options }, {
    name: 'test', version: '0.0.0', baseUrl: 'http://unused', envPrefix: 'SDK_HOSTILE_TEST',
  });
}
const failure = (p: Promise<unknown>) => p.then((v) => { throw new Error(`resolved with ${JSON.stringify(v)}`); }, (e: unknown) => e as LavendlyError);

describe('a success answer that is not the documented JSON', () => {
  it("refuses a proxy's 200 HTML page with a typed error instead of returning it as the object", async () => {
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'x-request-id': 'req_portal' }).end('<html><body>Sign in to the Wi-Fi</body></html>');
    const err = await failure(client().call('get_thing'));
    expect(err).toBeInstanceOf(InvalidResponseError);
    expect([err.status, err.code, err.requestId]).toEqual([200, 'invalid_response', 'req_portal']);
    expect(err.message).toMatch(/HTTP 200 answered a body that is not JSON \(text\/html\)/);
    expect(err.details.body).toMatch(/Sign in to the Wi-Fi/);
  });

  it('refuses truncated JSON and an empty 200', async () => {
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"th_1","na');
    expect(await failure(client().call('get_thing'))).toMatchObject({ code: 'invalid_response', status: 200 });
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end();
    expect((await failure(client().call('get_thing'))).message).toMatch(/answered nothing where the API documents JSON/);
  });

  it('refuses a 204 where every documented success is JSON, instead of returning undefined as the object', async () => {
    answer = (_req, res) => res.writeHead(204).end();
    expect(await failure(client().call('get_thing'))).toMatchObject({ code: 'invalid_response', status: 204 });
  });

  it('refuses a number beyond a double (1e400, 5000 digits) as the Python SDK does, not as Infinity', async () => {
    for (const n of ['1e400', '-1E+400', '9'.repeat(5000)]) {
      answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`{"data":[{"id":"th_1","total":${n}}],"e":"1e400"}`);
      const err = await failure(client().call('get_thing'));
      expect(err).toBeInstanceOf(InvalidResponseError);
      expect([err.status, err.code, err.details]).toEqual([200, 'number_out_of_range', { path: 'data.0.total' }]);
      expect(err.message).toMatch(/HTTP 200 answered a number beyond a double \(±1\.8e308\) at data\.0\.total, which the SDK cannot represent/);
    }
    // In range, or only in a string: returned as it is.
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"total":1.7e308,"note":"1e400"}');
    expect(await client().call('get_thing')).toEqual({ total: 1.7e308, note: '1e400' });
  });

  it('keeps a number beyond a double in an error envelope as its literal text, not Infinity, and the error its class and code', async () => {
    // Before: ConflictError with details { limit: Infinity, big: Infinity } (JSON.stringify writes null).
    const big = '9'.repeat(5000);
    answer = (_req, res) => res.writeHead(409, { 'content-type': 'application/json' })
      .end(`{"error":{"code":"conflict","message":"taken","request_id":"req_1","limit":-1E+400,"big":${big},"ok":1.5,"s":"1e400"}}`);
    const err = await failure(client().call('get_thing'));
    expect([err.name, err.status, err.code, err.message, err.requestId]).toEqual(['ConflictError', 409, 'conflict', 'taken', 'req_1']);
    expect(err.details).toEqual({ limit: '-1E+400', big, ok: 1.5, s: '1e400' });
  });

  it('refuses a signed webhook event holding a number beyond a double, as it refuses such a success body', async () => {
    // Before: verifyWebhook resolved to { data: { credits: Infinity } }.
    const secret = `whsec_${btoa('secret')}`;
    const ts = Math.floor(Date.now() / 1000);
    const verify = async (payload: string) =>
      verifyWebhook(payload, { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': await signWebhook(secret, 'msg_1', ts, payload) }, secret);
    const err = await failure(verify('{"type":"render.completed","data":{"note":"1e400","credits":1e400}}'));
    expect(err).toBeInstanceOf(WebhookVerificationError);
    expect([err.code, err.details]).toEqual(['number_out_of_range', { path: 'data.credits' }]);
    expect(err.message).toBe('webhook payload holds a number beyond a double (±1.8e308) at data.credits, which the SDK cannot represent');
    expect(await verify('{"type":"render.completed","data":{"note":"1e400","credits":1.7e308}}')).toEqual({ type: 'render.completed', data: { note: '1e400', credits: 1.7e308 } });
    // Nested deeper than a response body may be: refused as the Python SDK refuses it (its parser stops there).
    const deep = await failure(verify(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`));
    expect([deep.code, deep.message]).toEqual(['webhook_verification_failed', 'webhook payload is not JSON']);
  });

  it('still returns text where the operation does not document JSON', async () => {
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('plain words');
    expect(await client().call('get_text')).toBe('plain words');
  });
});

describe('bounded memory', () => {
  it('stops reading a body without end at maxResponseBytes', { timeout: 20_000 }, async () => {
    let written = 0;
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && written < 1 << 30) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    const err = await failure(client({ maxResponseBytes: 1 << 20 }).call('get_thing'));
    expect(err).toBeInstanceOf(InvalidResponseError);
    expect([err.status, err.code]).toEqual([200, 'response_too_large']);
    expect(written).toBeLessThan(64 << 20); // the client hung up; it did not drain the gigabyte
  });

  it('refuses at once a body whose Content-Length is over the cap', async () => {
    answer = (_req, res) => res.writeHead(500, { 'content-type': 'text/plain', 'content-length': String(2 << 20) }).end(Buffer.alloc(2 << 20, 0x61));
    expect(await failure(client({ maxResponseBytes: 1 << 20, maxRetries: 0 }).call('get_thing'))).toMatchObject({ status: 500, code: 'response_too_large' });
  });
});

describe('error answers without the envelope', () => {
  it("makes a clear message of a proxy's 502 page", async () => {
    const page = '<html><head><title>502 Bad Gateway</title><style>body{}</style></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>';
    answer = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end(page);
    const err = await failure(client({ maxRetries: 0 }).call('get_thing'));
    expect(err).toBeInstanceOf(ServerError);
    expect(err.message).toBe('HTTP 502: 502 Bad Gateway 502 Bad Gateway nginx');
    expect(err.details.body).toBe(page);
  });
});

describe('redirects', () => {
  it('does not follow a redirect to another host: no body, key or custom header goes there', async () => {
    answer = (_req, res) => res.writeHead(307, { location: `http://localhost:${(elsewhere.address() as AddressInfo).port}/things` }).end();
    const err = await failure(
      client({ headers: { 'x-gateway-key': 'gw_secret' } }).call('create_thing', { name: 'private script' }, { idempotencyKey: 'idem-1' }),
    );
    expect(stolen).toEqual([]);
    expect(err).toBeInstanceOf(LavendlyError);
    expect([err.status, err.code]).toEqual([307, 'http_307']);
    expect(err.message).toMatch(/^HTTP 307: redirected to http:\/\/localhost:\d+\/things, which the SDK does not follow/);
  });
});

describe('path parameters', () => {
  it("sends nothing for '..', '.' or '' (fetch would resolve '/things/t1/parts/..' to '/things/t1/', and a DELETE there removes the thing)", async () => {
    const seen: string[] = [];
    answer = (req, res) => { seen.push(`${req.method} ${req.url}`); res.writeHead(204).end(); };
    for (const part_id of ['..', '.', '']) {
      const err = await failure(client().call('detach_part', { id: 't1', part_id }));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toContain("path parameter 'part_id'");
    }
    expect(seen).toEqual([]);
    // Dots inside a value, or escaped ones, are an ordinary segment.
    await client().call('detach_part', { id: 't1', part_id: '...' });
    await client().call('detach_part', { id: 't1', part_id: '%2E%2E' });
    expect(seen).toEqual(['DELETE /things/t1/parts/...', 'DELETE /things/t1/parts/%252E%252E']);
  });
});

describe('base URL', () => {
  it('refuses one that is not an http(s) address when the client is made, not at its first call', () => {
    // `localhost:8090/v1` parses as a URL of scheme `localhost:`; fetch then failed at the first call.
    for (const baseUrl of ['localhost:8090/v1', '127.0.0.1:8090/v1', 'ftp://example.org/v1', '//example.org/v1']) {
      expect(() => client({ baseUrl })).toThrow(new TypeError(`baseUrl must be an http:// or https:// address such as "http://unused", not ${JSON.stringify(baseUrl)}`));
    }
    expect(() => new ApiClient(operations, {}, { name: 'test', version: '0.0.0', baseUrl: '', envPrefix: 'SDK_HOSTILE_TEST' }))
      .toThrow('baseUrl is required: the API description names no server address to default to');
    // A path on the page's own origin (a browser console) and any http(s) address stay usable.
    expect(client({ baseUrl: '/v1' }).baseUrl).toBe('/v1');
    expect(client({ baseUrl: 'HTTPS://api.example.org/v1/' }).baseUrl).toBe('HTTPS://api.example.org/v1');
  });
});

describe('credentials in messages', () => {
  it('leaves the query (an upload token) and user info out of error messages, which end up in logs', async () => {
    const upload = (c: ApiClient) => c.request('put_upload', { path: { id: 'upl_1' }, query: { token: 'tok_SECRET' }, body: 'bytes' }, { maxRetries: 0 });
    answer = (req) => req.socket.destroy();
    const reset = await failure(upload(client()));
    answer = () => {}; // never answers
    const timedOut = await failure(upload(client({ timeout: 200 })));
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>portal</p>');
    const portal = await failure(upload(client({ baseUrl: urlOf(api).replace('//', '//user:pw@') })));
    for (const err of [reset, timedOut, portal]) {
      expect(err).toBeInstanceOf(LavendlyError);
      expect(err.message).toMatch(/^PUT http:\/\/127\.0\.0\.1:\d+\/uploads\/upl_1[: ]/);
      expect(err.message).not.toMatch(/tok_SECRET|user|pw@/);
    }
  });
});

describe('Retry-After', () => {
  // What the Python SDK reads from each (retry_after_seconds in its _exceptions.py), in seconds:
  // a plain decimal, else an HTTP date, else nothing (the backoff). Date.parse took '-5', '+5',
  // '.5', '1 2' and '5, 5' for dates long past (a retry at once), Number() took Retry-After-Ms
  // '1e3', '0x10' and '+5'.
  const FUTURE = 'in the future';
  const cases: [after: string | null, afterMs: string | null, seconds: number | undefined | typeof FUTURE][] = [
    ['0', null, 0], ['0.25', null, 0.25], ['1.5', null, 1.5], ['12345678901234567890', null, Number('12345678901234567890')], ['9'.repeat(400), null, Infinity],
    ['-5', null, undefined], ['+5', null, undefined], ['nan', null, undefined], ['inf', null, undefined], ['Infinity', null, undefined],
    ['1_000', null, undefined], ['1e400', null, undefined], ['1e3', null, undefined], ['0x10', null, undefined], ['.5', null, undefined],
    ['1.', null, undefined], ['1 2', null, undefined], ['5, 5', null, undefined], ['', null, undefined], ['2100-01-01', null, undefined],
    ['tomorrow', null, undefined],
    // HTTP dates (IMF-fixdate, RFC 850, asctime) past and future, and ones that do not exist.
    ['Wed, 21 Oct 2015 07:28:00 GMT', null, 0], ['Wednesday, 21-Oct-15 07:28:00 GMT', null, 0], ['Wed Oct 21 07:28:00 2015', null, 0],
    ['Fri, 31 Dec 9999 23:59:59 GMT', null, FUTURE], ['Friday, 31-Dec-60 23:59:59 GMT', null, FUTURE], ['Fri Dec 31 23:59:59 9999', null, FUTURE],
    ['Thu, 31 Apr 2015 07:28:00 GMT', null, undefined], ['Wed, 21 Oct 2015 24:00:00 GMT', null, undefined],
    // Retry-After-Ms: a plain decimal too; anything else leaves Retry-After to say.
    [null, '1500', 1.5], [null, '0.5', 0.0005], ['7', '0', 0], [null, '12345678901234567890', Number('12345678901234567890') / 1000],
    ['0', '1e3', 0], ['0', '0x10', 0], ['0', '+5', 0], ['0', '-5', 0], ['0', 'inf', 0], ['0', 'nan', 0], ['0', '1_000', 0], ['0', '9'.repeat(400), 0],
    [null, '1e3', undefined],
  ];

  it('reads it as the Python SDK does, and retries only within maxRetryAfter', async () => {
    let sent = 0;
    let headers: Record<string, string> = {};
    answer = (_req, res) => {
      sent++;
      res.writeHead(429, { 'content-type': 'application/json', ...headers }).end('{"error":{"code":"rate_limited","message":"slow down"}}');
    };
    // The backoff (30 to 60 s) is over maxRetryAfter: only a Retry-After of at most 0.5 s is waited out.
    const c = client({ maxRetries: 2, maxRetryAfter: 500, backoff: { initialDelay: 60_000, maxDelay: 60_000 } });
    const seen = [];
    for (const [after, afterMs] of cases) {
      sent = 0;
      headers = { ...(after === null ? {} : { 'retry-after': after }), ...(afterMs === null ? {} : { 'retry-after-ms': afterMs }) };
      const err = await failure(c.call('get_thing'));
      expect(err).toBeInstanceOf(RateLimitError);
      const seconds = (err as RateLimitError).retryAfter;
      seen.push([after, afterMs, seconds !== undefined && seconds > 1e8 && seconds < 1e12 ? FUTURE : seconds, sent]);
    }
    const retried = (s: number | undefined | typeof FUTURE) => typeof s === 'number' && s <= 0.5;
    expect(seen).toEqual(cases.map(([after, afterMs, seconds]) => [after, afterMs, seconds, retried(seconds) ? 3 : 1]));
  });
});

describe('connection failures', () => {
  it("says why fetch failed rather than undici's bare 'fetch failed'", async () => {
    // Port 1 is on fetch's list of blocked ports: fetch fails before connecting, its reason in `cause`.
    const err = await failure(client({ baseUrl: 'http://127.0.0.1:1', maxRetries: 0 }).call('get_thing'));
    expect(err.code).toBe('connection_error');
    expect(err.message).toBe('GET http://127.0.0.1:1/thing failed: bad port');
  });
});
