/**
 * serve's minute sweep: what requests leave behind and nobody comes back for is deleted, so the
 * tables stop growing with abandoned upload slots and OAuth registrations (bench/soak.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/http/logging.js';
import { minuteSweep } from '../../src/http/sweeps.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

describe.each(testDatabases())('the minute sweep on %s', (kind) => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await startTestServer(kind);
    key = (await s.account()).key;
  });
  afterAll(async () => { await s.close(); });

  it('deletes upload slots long expired unused and OAuth clients never used, 40 of each, and keeps fresh ones', async () => {
    const slots: string[] = [];
    const clients: string[] = [];
    for (let i = 0; i < 41; i++) {
      const slot = await call(`${s.base}/uploads`, { key, body: { kind: 'image', filename: `f${i}.png` } });
      expect(slot.status).toBe(201);
      slots.push(slot.json.id);
      await s.fresh.db('oauth_clients').insert({ id: `mcpc_sweep${i}`, client_name: 'x', redirect_uris: '[]', created_at: new Date().toISOString() });
      clients.push(`mcpc_sweep${i}`);
    }
    // One registration over HTTP too, as a client makes it.
    const registered = await call(`${s.origin}/oauth/register`, { body: { redirect_uris: ['http://127.0.0.1:9/cb'] } });
    expect(registered.status).toBe(201);
    const aged = [...slots.slice(0, 40)];
    const agedClients = [...clients.slice(0, 39), registered.json.client_id as string];
    await s.fresh.db('upload_slots').whereIn('id', aged).update({ expires_at: new Date(Date.now() - 2 * 3600_000).toISOString() });
    await s.fresh.db('oauth_clients').whereIn('id', agedClients).update({ created_at: new Date(Date.now() - 2 * 86_400_000).toISOString() });

    await minuteSweep(s.fresh.db, s.services.storage, createLogger({ level: 'silent' }))();
    expect(await s.fresh.db('upload_slots').whereIn('id', slots).pluck('id')).toEqual([slots[40]]);
    expect((await s.fresh.db('oauth_clients').whereIn('id', [...clients, registered.json.client_id]).pluck('id')).sort()).toEqual([clients[39], clients[40]].sort());
  });
});
