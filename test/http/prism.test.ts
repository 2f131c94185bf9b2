import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrismProxy, throughPrism, type PrismProxy } from '../helpers/prism.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The cross-cutting answers of the real server (status, catalog, auth failures, rate limiting)
 * behind Prism's validating proxy: each must match the spec. The workflow suite runs through
 * Prism too (test/handlers/workflows.test.ts).
 */
describe('runtime answers through Prism', () => {
  let s: TestServer;
  let prism: PrismProxy;
  let req: typeof call;
  let seen: ReturnType<typeof throughPrism>['seen'];

  beforeAll(async () => {
    s = await startTestServer('sqlite', { config: { rateLimitPerMinute: 5 } });
    prism = await startPrismProxy(s.base);
    ({ call: req, seen } = throughPrism(prism, s.base, call));
  });
  afterAll(async () => {
    await prism?.stop();
    await s?.close();
  });

  it('get_status and get_schema match their schemas', async () => {
    const status = await req(`${prism.url}/_status`);
    expect(status.status).toBe(200);
    expect(status.json.database).toEqual({ kind: 'sqlite', ok: true });
    const schema = await req(`${prism.url}/_schema`);
    expect(schema.status).toBe(200);
    expect(schema.json.operations.map((o: any) => o.operation_id)).toContain('create_workflow');
  });

  it('401 for unknown and revoked keys, in the declared envelope', async () => {
    const unknown = await req(`${prism.url}/workflows`, { key: 'lvd_' + 'x'.repeat(43) });
    expect(unknown.status).toBe(401);
    const acct = await s.account();
    await s.services.accounts.revokeApiKey(acct.keyId);
    const revoked = await req(`${prism.url}/workflows`, { key: acct.key });
    expect(revoked.status).toBe(401);
    expect(revoked.json.error.code).toBe('unauthorized');
  });

  it('429 with Retry-After as declared', async () => {
    const acct = await s.account();
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | null = null;
    for (let i = 0; i < 7; i++) {
      const r = await req(`${prism.url}/workflows?limit=3`, { key: acct.key });
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(limited?.json.error.code).toBe('rate_limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('every exchange above was checked by Prism', () => {
    expect(seen.refusedByPrism).toEqual([]);
    expect(seen.checked).toBeGreaterThanOrEqual(11);
  });
});
