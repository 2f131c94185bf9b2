import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations } from '../../generated/routes.gen.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

/** Nothing a client sends may produce a 500: every operation, fed garbage in every location. */
describe('garbage input never yields a 500', () => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    key = (await s.account({ credits: 100, scopes: ['admin', 'ledger:write'] })).key;
  });
  afterAll(async () => { await s.close(); });

  const pathValues = ['%00', '%C3%BC%F0%9F%98%80', '..%2F..%2Fetc', 'a'.repeat(3000), 'wf_' + 'z'.repeat(60), '%E0%A4%A'];
  const queries = ['', '?limit=0', '?limit=1e309', '?limit=-5&cursor=%00', '?cursor=' + 'A'.repeat(600), '?limit=abc&limit=2', '?node_id[]=1&month=13-99', '?when=%FF'];
  const bodies: (string | undefined)[] = [
    undefined, '', '{', 'null', '[]', '"x"', '123456789012345678901234567890', '{"name":1e999}',
    '{"shots":[{"prompt":"\u0000","duration_s":9007199254740993}],"name":"\ud800"}',
    '{"node_id":{"$gt":""},"amount":-1,"channel_id":[],"url":"javascript:alert(1)","kind":"exe"}',
    JSON.stringify({ name: 'ü'.repeat(5000), shots: Array.from({ length: 60 }, () => ({ prompt: '𝄞' })) }),
    '{"a":' + '['.repeat(200) + ']'.repeat(200) + '}',
  ];

  it('across every operation of the spec', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const meta of Object.values(operations)) {
      const method = meta.method.toUpperCase();
      for (const pv of pathValues) {
        const path = meta.path.replace(/\{[^}]+\}/g, pv);
        for (const [i, body] of bodies.entries()) {
          const query = queries[(i + pathValues.indexOf(pv)) % queries.length];
          const contentType = meta.requestContentTypes.includes('application/octet-stream') && i % 2 ? 'application/octet-stream' : 'application/json';
          const r = await call(`${s.base}${path}${query}`, {
            method, key, rawBody: method === 'GET' || method === 'DELETE' ? undefined : body,
            headers: { 'content-type': contentType, 'idempotency-key': i % 3 ? `g-${sent}` : '', 'if-match': 'W/"x"' },
          });
          sent++;
          if (r.status >= 500 && r.status !== 501) failures.push(`${method} ${path.slice(0, 80)}${query} body#${i} -> ${r.status} ${r.text.slice(0, 200)}`);
          else if (r.status >= 400 && !r.json?.error?.code) failures.push(`${method} ${path.slice(0, 80)} -> ${r.status} without envelope: ${r.text.slice(0, 120)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(1000);
  }, 180_000);
});
