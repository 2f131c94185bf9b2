// The failed-auth limit is per client address; X-Forwarded-For names that address only when
// LAVENDLY_TRUST_PROXY says how many proxies in front wrote it.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

const guess = (s: TestServer, xff: string) => call(`${s.base}/ledger`, { key: 'lvd_wrong', headers: { 'x-forwarded-for': xff } }).then((r) => r.status);

describe('client address behind proxies', () => {
  let s: TestServer | null = null;
  afterEach(async () => { await s?.close(); s = null; });

  it('by default X-Forwarded-For is ignored: forged addresses share the socket address\'s bucket', async () => {
    s = await startTestServer('sqlite', { config: { authFailuresPerMinute: 3 } });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await guess(s, `203.0.113.${i}`));
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('LAVENDLY_TRUST_PROXY=1: the address the proxy appended counts, what the client put left of it does not', async () => {
    s = await startTestServer('sqlite', { config: { authFailuresPerMinute: 3, trustProxy: 1 } });
    // Three failures from 198.51.100.7, each claiming another origin to the left.
    for (let i = 0; i < 3; i++) expect(await guess(s, `203.0.113.${i}, 198.51.100.7`)).toBe(401);
    expect(await guess(s, '203.0.113.99, 198.51.100.7')).toBe(429);
    // Another client behind the same proxy has its own bucket.
    expect(await guess(s, '198.51.100.8')).toBe(401);
  });

  it('an IPv6 client counts by its /64, however many of its addresses it uses; an IPv4 one written as IPv6 is that IPv4 address', async () => {
    s = await startTestServer('sqlite', { config: { authFailuresPerMinute: 3, trustProxy: 1 } });
    const statuses = [];
    for (let i = 1; i <= 5; i++) statuses.push(await guess(s, `2001:db8:1:2::${i.toString(16)}`));
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect(await guess(s, '2001:db8:1:3::1')).toBe(401); // the next /64 is another client
    for (let i = 0; i < 3; i++) expect(await guess(s, '198.51.100.9')).toBe(401);
    expect(await guess(s, '::ffff:198.51.100.9')).toBe(429);
  });

  it('the setting is a whole number of proxies', () => {
    expect(loadConfig({}).trustProxy).toBe(0);
    expect(loadConfig({ LAVENDLY_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(() => loadConfig({ LAVENDLY_TRUST_PROXY: 'yes' })).toThrow(ConfigError);
  });
});
