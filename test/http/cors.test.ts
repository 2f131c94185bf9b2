/**
 * CORS on a real server: preflights answered before auth, the exposed headers on success and on
 * an error envelope, a configured origin list, and CORS off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,idempotency-key' },
  });

describe('CORS', () => {
  it('answers a preflight without a key, and exposes headers on answers and on error envelopes', async () => {
    server = await startTestServer('sqlite');
    const { key } = await server.account();
    const pre = await preflight(`${server.base}/workflows`, 'http://page.example');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const allowed = pre.headers.get('access-control-allow-headers')!.toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'if-match']));
    expect(Number(pre.headers.get('access-control-max-age'))).toBeGreaterThan(0);

    const ok = await fetch(`${server.base}/workflows`, { headers: { Origin: 'http://page.example', Authorization: `Bearer ${key}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('*');
    const exposed = ok.headers.get('access-control-expose-headers')!.toLowerCase();
    for (const h of ['x-request-id', 'retry-after', 'idempotent-replayed', 'etag']) expect(exposed).toContain(h);

    // An error is still readable by the page: the envelope keeps the CORS headers.
    const missing = await fetch(`${server.base}/workflows/wf_missing`, { headers: { Origin: 'http://page.example', Authorization: `Bearer ${key}` } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    expect(missing.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/);
    const noKey = await fetch(`${server.base}/workflows`, { headers: { Origin: 'http://page.example' } });
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get('access-control-allow-origin')).toBe('*');

    // Without Origin nothing changes; OPTIONS without a preflight's header is not a preflight.
    const plain = await fetch(`${server.base}/workflows`, { headers: { Authorization: `Bearer ${key}` } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a configured list echoes only its origins (with Vary); off means no CORS headers', async () => {
    server = await startTestServer('sqlite', { config: { corsOrigins: ['https://app.example.com'] } });
    const good = await preflight(`${server.base}/workflows`, 'https://app.example.com');
    expect(good.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(good.headers.get('vary')).toMatch(/Origin/);
    const other = await preflight(`${server.base}/workflows`, 'https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    await server.close();

    server = await startTestServer('sqlite', { config: { corsOrigins: [] } });
    const off = await fetch(`${server.base}/_status`, { headers: { Origin: 'http://page.example' } });
    expect(off.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('reads LAVENDLY_CORS_ORIGINS', () => {
    expect(loadConfig({}).corsOrigins).toEqual(['*']);
    expect(loadConfig({ LAVENDLY_CORS_ORIGINS: 'off' }).corsOrigins).toEqual([]);
    expect(loadConfig({ LAVENDLY_CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(() => loadConfig({ LAVENDLY_CORS_ORIGINS: 'https://a.example/path' })).toThrow(/LAVENDLY_CORS_ORIGINS/);
  });
});
