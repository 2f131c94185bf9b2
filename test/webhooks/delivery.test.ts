import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { nowIso } from '../../src/db/knex.js';
import { DomainError } from '../../src/errors.js';
import { httpErrorOf } from '../../src/http/errors.js';
import {
  createEndpoint, deleteEndpoint, deliver, emitBalanceLowIfCrossed, emitEvent, getDelivery, getEndpoint, listDeliveries,
  listEndpoints, refusalFor, replayDelivery, runDueDeliveries, type WebhookOptions,
} from '../../src/webhooks/index.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { restoreWallClock, stepWallClock } from '../helpers/wall-clock.js';
import { startReceiver, type Receiver } from './receiver.js';

const ACCOUNT = 'acc_hooks';
/** Loopback is allowed here only because the receivers run on 127.0.0.1. */
const testPolicy = { allowLoopback: true };
const fast: Partial<WebhookOptions> = { retryScheduleMs: [20, 40], jitter: 0, timeoutMs: 2_000, addressPolicy: testPolicy };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Drives deliveries the way the job queue would, until none is pending. */
async function drain(fresh: FreshDb, opts: Partial<WebhookOptions> = fast): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await runDueDeliveries(fresh.db, opts);
    const pending = await fresh.db('webhook_deliveries').where({ status: 'pending' }).count({ n: '*' }).first();
    if (Number(pending?.n) === 0) return;
    await sleep(10);
  }
  throw new Error('deliveries did not settle');
}

describe.each(testDatabases())('webhooks on %s', (kind) => {
  let fresh: FreshDb;
  const receivers: Receiver[] = [];
  beforeEach(async () => {
    fresh = await freshDb(kind);
    await fresh.db('accounts').insert({ id: ACCOUNT, name: 'hooks', created_at: nowIso() });
  });
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await fresh.close();
  });
  async function receiver(answer: Parameters<typeof startReceiver>[0]) {
    const r = await startReceiver(answer);
    receivers.push(r);
    return r;
  }

  it('retries 500, 500 then 200 with one webhook-id and valid signatures', async () => {
    const r = await receiver((n) => (n <= 2 ? 500 : 200));
    const endpoint = await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['render.succeeded'] }, { addressPolicy: testPolicy });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const { eventId, deliveryIds } = await fresh.db.transaction((trx) =>
      emitEvent(trx, { accountId: ACCOUNT, type: 'render.succeeded', payload: { render_id: 'rnd_1', workflow_id: 'wf_1' } }));
    expect(deliveryIds).toHaveLength(1);
    await drain(fresh);

    expect(r.requests).toHaveLength(3);
    const verifier = new Webhook(endpoint.secret);
    for (const req of r.requests) {
      expect(req.method).toBe('POST');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['webhook-id']).toBe(eventId);
      const headers = {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      };
      const body = verifier.verify(req.body, headers) as { type: string; data: Record<string, unknown> };
      expect(body.type).toBe('render.succeeded');
      expect(body.data).toEqual({ render_id: 'rnd_1', workflow_id: 'wf_1' });
      // A tampered body fails verification.
      expect(() => verifier.verify(req.body.replace('rnd_1', 'rnd_2'), headers)).toThrow();
    }

    const log = await getDelivery(fresh.db, ACCOUNT, deliveryIds[0]!);
    expect(log).toMatchObject({ status: 'succeeded', attempt: 3, response_status: 200, event_type: 'render.succeeded' });
    expect(log.attempts.map((a) => a.response_status)).toEqual([500, 500, 200]);
    const page = await listDeliveries(fresh.db, { accountId: ACCOUNT, endpointId: endpoint.id });
    expect(page.data.map((d) => d.id)).toEqual(deliveryIds);
  });

  it('gives up after the schedule, and replay sends the same event again', async () => {
    let fail = true;
    const r = await receiver(() => (fail ? 503 : 204));
    const endpoint = await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
    const { eventId, deliveryIds } = await fresh.db.transaction((trx) =>
      emitEvent(trx, { accountId: ACCOUNT, type: 'publication.published', payload: { publication_id: 'pub_1' } }));
    await drain(fresh);
    expect(r.requests).toHaveLength(3); // first attempt + one per schedule entry
    const failed = await getDelivery(fresh.db, ACCOUNT, deliveryIds[0]!);
    expect(failed).toMatchObject({ status: 'failed', attempt: 3, response_status: 503, next_attempt_at: null });

    fail = false;
    const replay = await replayDelivery(fresh.db, ACCOUNT, deliveryIds[0]!);
    expect(replay).toMatchObject({ status: 'pending', replay_of: deliveryIds[0], event_id: eventId });
    await drain(fresh);
    expect(r.requests).toHaveLength(4);
    expect(r.requests[3]!.headers['webhook-id']).toBe(eventId);
    expect((await getDelivery(fresh.db, ACCOUNT, replay.id)).status).toBe('succeeded');
    const all = await listDeliveries(fresh.db, { accountId: ACCOUNT, endpointId: endpoint.id, limit: 1 });
    expect(all.data).toHaveLength(1);
    expect(all.has_more).toBe(true);
    const next = await listDeliveries(fresh.db, { accountId: ACCOUNT, endpointId: endpoint.id, limit: 1, cursor: all.next_cursor });
    expect(next.has_more).toBe(false);
    expect(new Set([...all.data, ...next.data].map((d) => d.id))).toEqual(new Set([deliveryIds[0], replay.id]));
    await expect(listDeliveries(fresh.db, { accountId: ACCOUNT, endpointId: endpoint.id, cursor: `${all.next_cursor}x` }))
      .rejects.toMatchObject({ code: 'invalid_cursor' });
    // A cursor from one list is refused by another.
    await expect(listDeliveries(fresh.db, { accountId: ACCOUNT, endpointId: endpoint.id, status: 'failed', cursor: all.next_cursor }))
      .rejects.toMatchObject({ code: 'invalid_cursor' });
  });

  it('410 Gone disables the endpoint and stops further deliveries', async () => {
    const r = await receiver(() => 410);
    const endpoint = await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
    const first = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: { render_id: 'rnd_1' } });
    await drain(fresh);
    expect(r.requests).toHaveLength(1);
    expect(await getDelivery(fresh.db, ACCOUNT, first.deliveryIds[0]!)).toMatchObject({ status: 'failed', response_status: 410 });
    const disabled = await getEndpoint(fresh.db, ACCOUNT, endpoint.id);
    expect(disabled.status).toBe('disabled');
    expect(disabled.disabled_reason).toMatch(/410/);
    const second = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: { render_id: 'rnd_2' } });
    expect(second.deliveryIds).toEqual([]);
    await expect(replayDelivery(fresh.db, ACCOUNT, first.deliveryIds[0]!)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('an attempt held by a dead runner is looked at again when its lease runs out', async () => {
    const r = await receiver(() => 200);
    await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
    const { deliveryIds } = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: {} });
    const lockedUntil = new Date(Date.now() + 60_000).toISOString();
    await fresh.db('webhook_deliveries').where({ id: deliveryIds[0] }).update({ locked_until: lockedUntil });
    expect((await deliver(fresh.db, deliveryIds[0]!, fast)).status).toBe('skipped');
    expect(r.requests).toHaveLength(0);
    const followUp = await fresh.db('jobs').where('dedupe_key', 'like', `%${deliveryIds[0]}:1:after:%`).first('run_at');
    expect(Date.parse(followUp.run_at)).toBeGreaterThan(Date.parse(lockedUntil));
  });

  it('a delivery over its account\'s share of slots is put off with its job, no attempt spent, and sent on its turn', async () => {
    const r = await receiver(() => 200);
    await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(...(await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: { i } })).deliveryIds);
    // Two of the account's attempts in flight elsewhere: its share of two is taken.
    await fresh.db('webhook_deliveries').whereIn('id', ids.slice(0, 2)).update({ locked_until: new Date(Date.now() + 60_000).toISOString() });
    const due = await fresh.db('webhook_deliveries').where({ id: ids[2] }).first('next_attempt_at');

    expect((await deliver(fresh.db, ids[2]!, { ...fast, accountInFlight: 2 })).status).toBe('skipped');
    expect(r.requests).toHaveLength(0);
    const putOff = await fresh.db('webhook_deliveries').where({ id: ids[2] }).first('attempt', 'status', 'next_attempt_at', 'locked_until');
    expect(putOff).toMatchObject({ status: 'pending', locked_until: null });
    expect(Number(putOff.attempt)).toBe(0);
    expect(putOff.next_attempt_at > due.next_attempt_at).toBe(true);
    const job = await fresh.db('jobs').where('dedupe_key', 'like', `%${ids[2]}:1:deferred:%`).first('run_at');
    expect(Date.parse(job.run_at)).toBe(Date.parse(putOff.next_attempt_at));

    // With a share of three the same delivery goes out at once.
    await fresh.db('webhook_deliveries').where({ id: ids[2] }).update({ next_attempt_at: nowIso() });
    expect((await deliver(fresh.db, ids[2]!, { ...fast, accountInFlight: 3 })).status).toBe('succeeded');
    await fresh.db('webhook_deliveries').whereIn('id', ids.slice(0, 2)).update({ locked_until: null });
    await drain(fresh);
    expect(r.requests).toHaveLength(3);
    const attempts = await fresh.db('webhook_deliveries').whereIn('id', ids).pluck('attempt');
    expect(attempts.map(Number)).toEqual([1, 1, 1]);
  });

  it('does not follow redirects', async () => {
    const target = await receiver(() => 200);
    const r = await receiver(() => ({ status: 307, headers: { location: target.url } }));
    await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
    const { deliveryIds } = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: {} });
    await drain(fresh);
    expect(r.requests).toHaveLength(3);
    expect(target.requests).toHaveLength(0);
    expect(await getDelivery(fresh.db, ACCOUNT, deliveryIds[0]!)).toMatchObject({ status: 'failed', response_status: 307 });
  });

  it('refuses internal addresses at registration and again at delivery', async () => {
    for (const url of [
      'http://127.0.0.1:9/x', 'http://localhost:9/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest/meta-data',
      'http://[::1]:9/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/', 'ftp://example.com/', 'http://user:pw@example.com/',
    ]) {
      const err = await createEndpoint(fresh.db, { accountId: ACCOUNT, url, events: ['*'] }).then(() => null, (e: unknown) => e);
      expect(err, url).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe('url_not_allowed');
      expect(httpErrorOf(err as DomainError).status).toBe(400);
    }
    // Port 0 would connect to port 80: refused even where loopback is allowed.
    await expect(createEndpoint(fresh.db, { accountId: ACCOUNT, url: 'http://127.0.0.1:0/x', events: ['*'] }, { addressPolicy: testPolicy }))
      .rejects.toMatchObject({ code: 'url_not_allowed' });
    // Even the test policy never allows link-local (cloud metadata) addresses.
    expect(refusalFor('169.254.169.254', testPolicy)).toMatch(/link-local/);
    expect(refusalFor('127.0.0.1', testPolicy)).toBeNull();
    expect(refusalFor('93.184.216.34')).toBeNull();
    expect(await fresh.db('webhook_endpoints').select('id')).toEqual([]);

    // Registered while allowed, then delivered under the strict policy: refused, not sent.
    const r = await receiver(() => 200);
    await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
    const { deliveryIds } = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: {} });
    await drain(fresh, { ...fast, addressPolicy: {} });
    expect(r.requests).toHaveLength(0);
    const d = await getDelivery(fresh.db, ACCOUNT, deliveryIds[0]!);
    expect(d.status).toBe('failed');
    expect(d.last_error).toMatch(/address refused/);
  });

  it('a host that stops resolving is retried on the schedule, not failed at once', async () => {
    const r = await receiver(() => 200);
    const endpoint = await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
    // Registered while it resolved; `.invalid` never resolves (RFC 6761), as in a resolver outage.
    await fresh.db('webhook_endpoints').where({ id: endpoint.id }).update({ url: 'http://hooks.lavendly-test.invalid/x' });
    const { deliveryIds } = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: {} });
    const first = await deliver(fresh.db, deliveryIds[0]!, fast);
    expect(first).toMatchObject({ status: 'pending', attempt: 1 });
    expect(first.nextAttemptAt).not.toBeNull();
    expect((await getDelivery(fresh.db, ACCOUNT, deliveryIds[0]!)).last_error).toMatch(/does not resolve/);
    expect(await fresh.db('jobs').where('dedupe_key', 'like', `%${deliveryIds[0]}:2`).first('id')).toBeTruthy();

    // Resolving again (here: the receiver's own address) before the next attempt: it arrives.
    await fresh.db('webhook_endpoints').where({ id: endpoint.id }).update({ url: r.url });
    await drain(fresh);
    expect(await getDelivery(fresh.db, ACCOUNT, deliveryIds[0]!)).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(r.requests).toHaveLength(1);
  });

  it('an endpoint deleted while its attempt is out: nothing recorded, no retry, no error', async () => {
    let endpointId = '';
    // Deletes the endpoint (its deliveries go with it) before answering.
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        void deleteEndpoint(fresh.db, ACCOUNT, endpointId).then(() => res.writeHead(200).end());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
      endpointId = (await createEndpoint(fresh.db, { accountId: ACCOUNT, url, events: ['*'] }, { addressPolicy: testPolicy })).id;
      const { deliveryIds } = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: {} });
      expect(await deliver(fresh.db, deliveryIds[0]!, fast)).toMatchObject({ status: 'skipped', nextAttemptAt: null });
      expect(await fresh.db('webhook_deliveries').select('id')).toEqual([]);
      expect(await fresh.db('webhook_delivery_attempts').select('id')).toEqual([]);
      expect(await fresh.db('jobs').where('dedupe_key', 'like', `%${deliveryIds[0]}:2`).select('id')).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('an attempt during which the clock steps back a minute is logged with its real duration', async () => {
    const r = await receiver(() => {
      stepWallClock(-60_000);
      return 200;
    });
    try {
      await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
      const { deliveryIds } = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: {} });
      expect((await deliver(fresh.db, deliveryIds[0]!, fast)).status).toBe('succeeded');
      const [attempt] = (await getDelivery(fresh.db, ACCOUNT, deliveryIds[0]!)).attempts;
      expect(attempt!.duration_ms).toBeGreaterThanOrEqual(0);
      expect(attempt!.duration_ms).toBeLessThan(60_000);
    } finally {
      restoreWallClock();
    }
  });

  it('a 2xx whose body drips is a success at its status line; the body is cut off', async () => {
    let requests = 0;
    let open = 0;
    const server = http.createServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('o');
        const drip = setInterval(() => res.write('k'), 100);
        res.on('close', () => clearInterval(drip));
      });
    });
    server.on('connection', (socket) => { open++; socket.on('close', () => { open--; }); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
      await createEndpoint(fresh.db, { accountId: ACCOUNT, url, events: ['*'] }, { addressPolicy: testPolicy });
      const { deliveryIds } = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'render.failed', payload: {} });
      // The body never ends: only the status line can decide the attempt within its timeout.
      expect(await deliver(fresh.db, deliveryIds[0]!, { ...fast, timeoutMs: 1_500 })).toMatchObject({ status: 'succeeded', responseStatus: 200 });
      expect(await getDelivery(fresh.db, ACCOUNT, deliveryIds[0]!)).toMatchObject({ status: 'succeeded', response_status: 200, last_error: null });
      expect(requests).toBe(1);
      // We hang up on the drip ourselves, shortly after.
      for (let i = 0; open > 0 && i < 500; i++) await sleep(10);
      expect(open).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('writes events only with the committed change, to subscribed active endpoints', async () => {
    const r = await receiver(() => 200);
    await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['render.succeeded'] }, { addressPolicy: testPolicy });
    await expect(fresh.db.transaction(async (trx) => {
      await emitEvent(trx, { accountId: ACCOUNT, type: 'render.succeeded', payload: { render_id: 'rnd_x' } });
      throw new Error('the change failed');
    })).rejects.toThrow('the change failed');
    expect(await fresh.db('webhook_events').select('id')).toEqual([]);
    expect(await fresh.db('webhook_deliveries').select('id')).toEqual([]);

    const other = await emitEvent(fresh.db, { accountId: ACCOUNT, type: 'generation.finished', payload: {} });
    expect(other.deliveryIds).toEqual([]); // not subscribed

    // balance.low fires on the downward crossing only.
    await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['balance.low'] }, { addressPolicy: testPolicy });
    expect(await emitBalanceLowIfCrossed(fresh.db, { accountId: ACCOUNT, availableBefore: 60, availableAfter: 55, threshold: 50 })).toBeNull();
    const low = await emitBalanceLowIfCrossed(fresh.db, { accountId: ACCOUNT, availableBefore: 55, availableAfter: 40, threshold: 50 });
    expect(low?.deliveryIds).toHaveLength(1);
    expect(await emitBalanceLowIfCrossed(fresh.db, { accountId: ACCOUNT, availableBefore: 40, availableAfter: 30, threshold: 50 })).toBeNull();
    await drain(fresh);
    expect(JSON.parse(r.requests[0]!.body)).toMatchObject({ type: 'balance.low', data: { available: 40, threshold: 50 } });
  });

  it('an account may have 20 endpoints; one more answers 409 conflict', async () => {
    const r = await receiver(() => 200);
    for (let i = 0; i < 20; i++) await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
    const err = await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['*'] }, { addressPolicy: testPolicy }).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'conflict', details: { limit: 20 } });
    expect(httpErrorOf(err as DomainError).status).toBe(409);
    // The cap is per account.
    await fresh.db('accounts').insert({ id: 'acc_other', name: 'other', created_at: nowIso() });
    await createEndpoint(fresh.db, { accountId: 'acc_other', url: r.url, events: ['*'] }, { addressPolicy: testPolicy });
  });

  it('shows the secret once: never in lists or reads; unknown events refused; delete', async () => {
    const r = await receiver(() => 200);
    const created = await createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['render.succeeded', 'render.failed'] }, { addressPolicy: testPolicy });
    const list = await listEndpoints(fresh.db, ACCOUNT);
    const read = await getEndpoint(fresh.db, ACCOUNT, created.id);
    expect(list.data).toHaveLength(1);
    for (const shown of [list, read]) {
      const text = JSON.stringify(shown);
      expect(text).not.toContain(created.secret);
      expect(text).not.toContain('whsec_');
      expect(text).not.toContain('"secret"');
    }
    expect(read.events).toEqual(['render.failed', 'render.succeeded']);
    await expect(createEndpoint(fresh.db, { accountId: ACCOUNT, url: r.url, events: ['nope'] }, { addressPolicy: testPolicy }))
      .rejects.toMatchObject({ code: 'validation_error' });
    await expect(getEndpoint(fresh.db, 'acc_other', created.id)).rejects.toMatchObject({ code: 'not_found' });
    await deleteEndpoint(fresh.db, ACCOUNT, created.id);
    expect((await listEndpoints(fresh.db, ACCOUNT)).data).toEqual([]);
    await expect(deleteEndpoint(fresh.db, ACCOUNT, created.id)).rejects.toMatchObject({ code: 'not_found' });
  });
});
