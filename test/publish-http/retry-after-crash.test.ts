// Found by bench/chaos.ts (serve processes killed with SIGKILL under load): one workflow had two
// publications, one of them never answered to the client. publish_video had committed the
// publication, then its server died before storing the answer under the Idempotency-Key. The
// client retried with the same key, met 409 in_progress until the dead server's claim ran out,
// then the retry ran publish_video again: a second post of the same video. Now the publication
// carries its key, and the rerun answers the one already made.
//
// The crash is left as it leaves the database: the key's row claimed ("running") by a process
// that no longer renews it, with no answer stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../helpers/db.js';
import { leaveClaimOfDeadServer } from '../helpers/dead-claim.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { insertFinishedRender, oneShot } from './fixtures.js';

describe.each(testDatabases())('publish_video retried after its server died on %s', (kind) => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer(kind, { config: { idempotencyLeaseS: 1 } });
  });
  afterAll(async () => { await s?.close(); });

  it('answers the publication the first run made instead of posting again', async () => {
    const user = await s.account({ name: 'Shop' });
    const admin = await s.account({ name: 'Operator', scopes: ['admin'] });
    const wf = await call(`${s.base}/workflows`, { key: user.key, body: oneShot });
    await insertFinishedRender(s.fresh.db, s.config.dataDir, user.id, wf.json.id);
    const ch = await call(`${s.base}/channels`, { key: admin.key, body: { account_id: user.id, platform: 'local', name: 'Folder', credentials: {} } });
    expect(ch.status, ch.text).toBe(201);

    const publish = () => call(`${s.base}/workflows/${wf.json.id}/publish`, {
      key: user.key, body: { channel_id: ch.json.id, title: 'Once' }, headers: { 'idempotency-key': 'publish-once' },
    });
    const first = await publish();
    expect(first.status, first.text).toBe(202);
    // The server "dies" after the publication committed, before the answer was stored.
    expect(await leaveClaimOfDeadServer(s.fresh.db, 'publish-once')).toBe(1);

    // The client retries on 409 in_progress, as told: the dead claim is taken over once the
    // server has seen it expired and unrenewed for half a lease (src/http/idempotency-store.ts).
    let retry = await publish();
    for (let i = 0; i < 50 && retry.status === 409; i++) {
      await new Promise((r) => setTimeout(r, 100));
      retry = await publish();
    }
    expect(retry.status, retry.text).toBe(202);
    expect(retry.json.id).toBe(first.json.id);
    expect(await s.fresh.db('publications').where({ workflow_id: wf.json.id }).pluck('id')).toEqual([first.json.id]);
    // A new key is a new request: a second publication, as asked.
    const another = await call(`${s.base}/workflows/${wf.json.id}/publish`, {
      key: user.key, body: { channel_id: ch.json.id, title: 'Once' }, headers: { 'idempotency-key': 'publish-again' },
    });
    expect(another.status, another.text).toBe(202);
    expect(another.json.id).not.toBe(first.json.id);
  });
});
