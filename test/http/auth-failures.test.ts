import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

describe('failed authentication is rate-limited per client address', () => {
  let s: TestServer;
  let valid: { key: string };

  beforeAll(async () => {
    s = await startTestServer('sqlite', { config: { authFailuresPerMinute: 20 } });
    valid = await s.account();
  });
  afterAll(async () => { await s.close(); });

  it('after 20 failures a minute the address gets 429 with Retry-After; a valid key still works', async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 30; i++) {
      last = await call(`${s.base}/ledger`, { key: `lvd_guess${i}` });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.slice(20)).toEqual(Array(10).fill(429));
    expect(last!.json.error.code).toBe('rate_limited');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Missing keys count too, and so does the MCP endpoint.
    expect((await call(`${s.base}/ledger`)).status).toBe(429);
    const mcp = await call(`${s.origin}/mcp`, { key: 'lvd_nope', body: { jsonrpc: '2.0', id: 1, method: 'ping' }, headers: { accept: 'application/json, text/event-stream' } });
    expect(mcp.status).toBe(429);
    expect((await call(`${s.base}/ledger`, { key: valid.key })).status).toBe(200);
  });
});
