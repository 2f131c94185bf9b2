/**
 * Time an agent can trust: get_status gives the server's clock, the account has an IANA zone
 * (update_account; get_ledger shows it with the local time), and schedule_video takes "9am
 * tomorrow" as a local time in that zone, echoing both forms. Plus the zone arithmetic itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatInZone, isTimeZone, zonedToInstant } from '../../src/accounts/time-zone.js';
import { connectChannel } from '../../src/publish/channels.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { insertFinishedRender } from '../publish-http/fixtures.js';
import { callTool, connect, ok } from './helpers.js';

describe('zone arithmetic', () => {
  it('reads wall-clock times in a zone, across daylight saving', () => {
    expect(zonedToInstant('2027-01-15T09:00', 'Europe/Paris').toISOString()).toBe('2027-01-15T08:00:00.000Z');
    expect(zonedToInstant('2027-07-15T09:00:30', 'Europe/Paris').toISOString()).toBe('2027-07-15T07:00:30.000Z');
    expect(zonedToInstant('2027-03-14T09:00', 'America/New_York').toISOString()).toBe('2027-03-14T13:00:00.000Z'); // the day DST starts
    expect(zonedToInstant('2027-01-01T00:00', 'Asia/Kolkata').toISOString()).toBe('2026-12-31T18:30:00.000Z');
    expect(formatInZone(new Date('2027-07-15T07:00:00Z'), 'Europe/Paris')).toBe('2027-07-15T09:00:00+02:00');
    expect(formatInZone(new Date('2026-12-31T18:30:00Z'), 'Asia/Kolkata')).toBe('2027-01-01T00:00:00+05:30');
    expect(formatInZone(new Date('2027-01-15T14:00:00Z'), 'UTC')).toBe('2027-01-15T14:00:00+00:00');
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

describe('over MCP and REST', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('server time, the account zone, and 9am tomorrow in that zone', async () => {
    const acc = await server.account({ credits: 10, name: 'time' });
    const before = Date.now();
    const c = await connect('http', server, acc.key);
    try {
      const status = await ok(c.client, 'get_status');
      expect(Date.parse(status.server_time)).toBeGreaterThanOrEqual(before - 1000);
      expect(Date.parse(status.server_time)).toBeLessThanOrEqual(Date.now() + 1000);

      expect((await ok(c.client, 'get_ledger')).time_zone).toBe('UTC');
      const bad = await call(`${server.base}/account`, { method: 'PATCH', key: acc.key, body: { time_zone: 'Mars/Olympus_Mons' } });
      expect(bad.status).toBe(400);
      expect(bad.json.error.code).toBe('validation_error');
      const set = await call(`${server.base}/account`, { method: 'PATCH', key: acc.key, body: { time_zone: 'Asia/Tokyo' } });
      expect(set.status, set.text).toBe(200);
      expect(set.json.time_zone).toBe('Asia/Tokyo');
      const ledger = await ok(c.client, 'get_ledger');
      expect(ledger.time_zone).toBe('Asia/Tokyo');
      expect(ledger.local_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+09:00$/);

      // "9am tomorrow", worked out from the ledger's local date as an agent would.
      const today = ledger.local_time.slice(0, 10);
      const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const wf = await ok(c.client, 'create_workflow', { name: 'Tokyo', shots: [{ prompt: 'a fox', duration_s: 2 }] });
      await insertFinishedRender(server.fresh.db, server.fresh.dataDir, acc.id, wf.id);
      const channel = await connectChannel(server.fresh.db, { accountId: acc.id, platform: 'local', name: 'Folder', credentials: {} }, { dataDir: server.fresh.dataDir });
      const scheduled = await ok(c.client, 'schedule_video', { id: wf.id, channel_id: channel.id, local_time: `${tomorrow}T09:00`, confirm: true });
      // 09:00 in Tokyo (UTC+9, no daylight saving) is 00:00 UTC the same day.
      expect(scheduled.scheduled_for).toBe(`${tomorrow}T00:00:00.000Z`);
      expect(scheduled.scheduled_local).toBe(`${tomorrow}T09:00:00+09:00`);
      expect(scheduled.time_zone).toBe('Asia/Tokyo');

      // Another zone on request; both forms of the time is an error, as is a zone Intl does not know.
      const paris = await call(`${server.base}/workflows/${wf.id}/publish`, { key: acc.key, body: { channel_id: channel.id, local_time: `${tomorrow}T09:00`, time_zone: 'Europe/Paris' } });
      expect(paris.status, paris.text).toBe(202);
      expect(paris.json.time_zone).toBe('Europe/Paris');
      expect(Date.parse(paris.json.scheduled_for)).toBe(zonedToInstant(`${tomorrow}T09:00`, 'Europe/Paris').getTime());
      const both = await call(`${server.base}/workflows/${wf.id}/publish`, { key: acc.key, body: { channel_id: channel.id, local_time: `${tomorrow}T09:00`, when: scheduled.scheduled_for } });
      expect(both.json.error.code).toBe('validation_error');
      const unknownZone = await callTool(c.client, 'schedule_video', { id: wf.id, channel_id: channel.id, local_time: `${tomorrow}T09:00`, time_zone: 'Nowhere/Atall', confirm: true });
      expect(unknownZone.error.code).toBe('validation_error');

      // A time in the past says what "now" is.
      const past = await callTool(c.client, 'schedule_video', { id: wf.id, channel_id: channel.id, local_time: '2020-01-01T09:00', confirm: true });
      expect(past.error.code).toBe('schedule_in_past');
      expect(past.error.message).toMatch(/before now \(\d{4}-\d{2}-\d{2}T[\d:.]+Z, server time\)/);
      expect(past.error.now).toEqual(expect.any(String));
    } finally {
      await c.close();
    }
  });
});
