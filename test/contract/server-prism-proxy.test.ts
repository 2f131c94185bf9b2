/**
 * The real server behind Prism's validating proxy (`prism proxy spec/openapi.yaml <server>/v1
 * --errors`): one walk through the API with the generated SDK touches every operation of the
 * server's own catalog (`GET /v1/_schema`), and any request or response that strays from the spec
 * fails. Operations still answering 501 `not_implemented` are skipped explicitly and listed.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lavendly, LavendlyError, type LavendlyOperations } from '../../generated/sdk.gen.js';
import type * as T from '../../generated/types.gen.js';
import { operationValidators } from '../../generated/validators.gen.js';
import { withDefaults } from '../../src/webhooks/options.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { makeMedia } from '../net/media.js';
import { tempDir } from '../net/servers.js';
import { loadSpec, specOperations, startPrism, type PrismProcess } from './prism.js';

type OperationId = keyof LavendlyOperations & string;

/** Operations that must work end to end already; anything else may still be a 501 stub. */
const MUST_BE_IMPLEMENTED = ['workflows', 'telemetry'];

const specOps = specOperations(loadSpec());

interface Exchange {
  method: string;
  url: string;
  status: number;
  /** Prism's verdict (`sl-violations` header or a problem+json answer), when it had one. */
  violation: string | null;
}

type Outcome = { kind: 'ok'; status: number } | { kind: 'error'; status: number; code: string; message?: string } | { kind: 'not_implemented' };

let server: TestServer;
let prism: PrismProcess;
/** Between Prism and the server: passes bytes through untouched unless a test tampers with an answer. */
let shim: Server;
let tamper: ((path: string) => { status: number; body: string } | null) | null = null;
/** The status of every answer the server gave (through the shim), in order. */
const upstreamStatuses: number[] = [];
let media: Server;
let mediaDir: string;
let mediaBase: string;
let client: Lavendly;
let key: string;
let accountId: string;
let exchanges: Exchange[] = [];
const outcomes = new Map<string, Outcome>();
const offSpec: string[] = [];

/** Records each exchange with Prism's verdict on it. */
const recordingFetch: typeof fetch = async (input, init) => {
  const req = new Request(input, init);
  const res = await fetch(req);
  let violation = res.headers.get('sl-violations');
  if (!violation && (res.headers.get('content-type') ?? '').includes('application/problem+json')) violation = await res.clone().text();
  exchanges.push({ method: req.method, url: req.url, status: res.status, violation });
  return res;
};

/**
 * One operation call through Prism. Prism refusing our request, or flagging the server's
 * response, is a failure; a 501 `not_implemented` from the server counts as an explicit skip.
 */
async function step<R>(operationId: OperationId, call: () => PromiseLike<R>): Promise<R | undefined> {
  exchanges = [];
  upstreamStatuses.length = 0;
  let result: R | undefined;
  let error: unknown;
  try {
    result = await call();
  } catch (e) {
    error = e;
  }
  const ex = exchanges.at(-1);
  if (!ex) throw new Error(`${operationId}: no request was sent (${String(error)})`);
  // Prism's proxy answers an upstream 501 with a mocked example instead (its "fall back to the
  // mock for what is not built yet"), so only the shim knows the server said 501.
  if (upstreamStatuses.length === 1 && upstreamStatuses[0] === 501) {
    outcomes.set(operationId, { kind: 'not_implemented' });
    return undefined;
  }
  if (ex.violation) {
    offSpec.push(`${operationId}: ${ex.method} ${ex.url} -> ${ex.status}: ${ex.violation.slice(0, 1500)}`);
    outcomes.set(operationId, { kind: 'error', status: ex.status, code: 'off_spec' });
    return undefined;
  }
  if (error) {
    if (!(error instanceof LavendlyError)) throw error;
    outcomes.set(operationId, { kind: 'error', status: error.status, code: error.code, message: error.message });
    return undefined;
  }
  outcomes.set(operationId, { kind: 'ok', status: ex.status });
  return result;
}

const directlyChecked: string[] = [];
/** One call straight to the server (no Prism); the answer is checked with the generated validators. */
async function direct<R>(operationId: OperationId, call: () => Promise<R>): Promise<R | undefined> {
  exchanges = [];
  const result = await call().catch((e: unknown) => {
    if (!(e instanceof LavendlyError)) throw e;
    outcomes.set(operationId, { kind: e.status === 501 ? 'not_implemented' : 'error', status: e.status, code: e.code, message: e.message } as Outcome);
    return undefined;
  });
  directlyChecked.push(operationId);
  const ex = exchanges.at(-1)!;
  const validator = (operationValidators as Record<string, { responses: Record<string, ZodLike> }>)[operationId]!.responses[String(ex.status)];
  if (!validator) offSpec.push(`${operationId}: status ${ex.status} is not declared`);
  else if (result !== undefined) {
    const parsed = validator.safeParse(result);
    if (!parsed.success) offSpec.push(`${operationId}: ${JSON.stringify(parsed.error)}`);
  }
  if (result !== undefined) outcomes.set(operationId, { kind: 'ok', status: ex.status });
  return result;
}
type ZodLike = { safeParse(v: unknown): { success: boolean; error?: unknown } };

beforeAll(async () => {
  const dir = (mediaDir = tempDir('lavendly-proxy-media-'));
  await Promise.all(['a.png', 'a.mp3'].map((n) => makeMedia(dir, n)));
  media = createServer(async (req, res) => {
    if (req.method === 'POST') return void req.resume().on('end', () => res.writeHead(204).end()); // webhook receiver
    const name = req.url!.slice(1);
    const body = await readFile(`${dir}/${name}`).catch(() => null);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': name.endsWith('.png') ? 'image/png' : 'audio/mpeg', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => media.listen(0, '127.0.0.1', resolve));
  const endpoint = `127.0.0.1:${(media.address() as AddressInfo).port}`;
  mediaBase = `http://${endpoint}`;

  // Let import_asset fetch from, and webhooks point at, the local media server (both refuse
  // loopback addresses otherwise; the relaxation is test-only and passed in code).
  server = await startTestServer('sqlite', {
    services: {
      assetsConfig: { addressPolicy: { allowEndpoints: [endpoint] } },
      webhookOptions: withDefaults({ addressPolicy: { allowEndpoints: [endpoint] } }),
    },
  });
  const account = await server.account({ credits: 5_000, scopes: ['admin', 'ledger:write'] });
  key = account.key;
  accountId = account.id;
  const upstream = new URL(server.origin);
  shim = createServer((req, res) => {
    const forged = tamper?.(req.url!);
    if (forged) {
      upstreamStatuses.push(forged.status);
      req.resume();
      return void res.writeHead(forged.status, { 'content-type': 'application/json' }).end(forged.body);
    }
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      upstreamStatuses.push(up.statusCode!);
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    out.on('error', (err) => res.destroy(err));
    req.pipe(out);
  });
  await new Promise<void>((resolve) => shim.listen(0, '127.0.0.1', resolve));
  prism = await startPrism({ proxy: `http://127.0.0.1:${(shim.address() as AddressInfo).port}/v1` });
  client = new Lavendly({ apiKey: key, baseUrl: prism.url, maxRetries: 0, timeout: 20_000, fetch: recordingFetch });
}, 60_000);

afterAll(async () => {
  await prism?.stop();
  await server?.close();
  await new Promise((resolve) => shim?.close(resolve));
  await new Promise((resolve) => media?.close(resolve));
  if (mediaDir) rmSync(mediaDir, { recursive: true, force: true });
});

const SHOTS: T.Shot[] = [
  { prompt: 'A sleepy fox noses through a dusty bookshop.', image_prompt: 'Watercolour bookshop at dusk.', duration_s: 5 },
  { prompt: 'The map unfolds and its inked lines glow gold.', duration_s: 5 },
];

describe('the server behind prism proxy --errors', () => {
  it('answers every implemented operation of its catalog on the spec', async () => {
    const c = client;
    const directClient = new Lavendly({ apiKey: key, baseUrl: server.base, maxRetries: 0, timeout: 20_000, fetch: recordingFetch });
    // telemetry
    const catalog = await step('get_schema', () => c.telemetry.getSchema({}));
    await step('get_status', () => c.telemetry.getStatus({}));

    // workflows
    const wf = await step('create_workflow', () => c.workflows.create({ name: 'Bookshop fox', aspect_ratio: '9:16', shots: SHOTS }));
    const doomed = await c.workflows.create({ name: 'To delete', shots: SHOTS.slice(0, 1) });
    await step('list_workflows', () => c.workflows.list({ limit: 1 }));
    await step('get_workflow', () => c.workflows.get({ id: wf!.id }));
    const updated = await step('update_workflow', () => c.workflows.update({ id: wf!.id, if_match: `"${wf!.version}"`, description: 'A fox finds a map.' }));
    const sceneNode = (updated ?? wf)!.scenes[0]!.node_id;

    // assets
    const image = await step('import_asset', () => c.assets.import({ url: `${mediaBase}/a.png`, kind: 'image' }));
    await step('get_asset', () => c.assets.get({ id: image?.id ?? ('ast_missing' as T.AssetId) }));
    const music = await fetch(`${mediaBase}/a.mp3`).then((r) => r.arrayBuffer());
    const slot = await step('create_upload', () => c.assets.createUpload({ kind: 'music', filename: 'theme.mp3', bytes: music.byteLength }));
    const token = slot ? new URL(slot.upload_url).searchParams.get('token')! : 'tok_missing';
    // Prism's proxy re-encodes binary request bodies as UTF-8 text (stoplightio/prism#1321,
    // #2349), so the raw upload goes straight to the server; its answer is held to the spec by the
    // generated response validator instead.
    const track = await direct('put_upload', () => directClient.assets.upload({ id: slot?.id ?? ('upl_missing' as T.UploadId), token, body: new Uint8Array(music) }));

    // generate (estimate only spends nothing)
    await step('estimate_cost', () => c.generate.estimateCost({ id: wf!.id }));

    // audio
    await step('get_workflow_audio', () => c.audio.get({ id: wf!.id }));
    await step('set_clip_native_audio', () => c.audio.setNativeAudio({ id: wf!.id, clip_id: sceneNode, enabled: true, volume_db: -6 }));
    const attached = await step('attach_track', () =>
      c.audio.attachTrack({ id: wf!.id, clip_id: sceneNode, asset_id: track?.id ?? ('ast_missing' as T.AssetId), kind: 'music', volume_db: -12, fade_in_s: 1 }),
    );
    const trackId = attached?.id ?? ('trk_missing' as T.TrackId);
    await step('update_track', () => c.audio.updateTrack({ id: wf!.id, track_id: trackId, volume_db: -16 }));
    await step('detach_track', () => c.audio.detachTrack({ id: wf!.id, track_id: trackId }));

    // review (before generation: answers about what exists so far)
    await step('quality_check', () => c.review.qualityCheck({ id: wf!.id, node_id: sceneNode }));
    await step('get_scene_frame', () => c.review.getSceneFrame({ id: wf!.id, node_id: sceneNode, at_s: 1 }));
    await step('review_scenes', () => c.review.scenes({ id: wf!.id, max_side: 64 }));

    // generation and renders (credits are spent here)
    await step('generate_scene', () => c.generate.start({ id: wf!.id, node_id: sceneNode }));
    await step('get_generation_status', () => c.generate.getStatus({ id: wf!.id }));
    // A render of another workflow, since the first one is busy generating.
    const cut = await c.workflows.create({ name: 'Second cut', shots: SHOTS.slice(0, 1) });
    const render = await step('create_render', () => c.renders.create({ id: cut.id, label: 'First cut' }));
    const renderId = render?.id ?? ('rnd_missing' as T.RenderId);
    await step('list_renders', () => c.renders.list({ id: cut.id }));
    await step('get_render', () => c.renders.get({ id: cut.id, job_id: renderId }));
    await step('update_render', () => c.renders.update({ id: cut.id, job_id: renderId, label: 'Final cut' }));
    await step('list_all_renders', () => c.renders.listAll({ limit: 5 }));

    // publish
    await step('list_channels', () => c.publish.listChannels({}));
    const channel = await step('connect_channel', () =>
      c.publish.connectChannel({ account_id: accountId as T.AccountId, platform: 'local', name: 'Fox & Folio', credentials: {} }),
    );
    const when = new Date(Date.now() + 86_400_000).toISOString();
    const publication = await step('publish_video', () => c.publish.video({ id: wf!.id, channel_id: channel?.id ?? ('ch_missing' as T.ChannelId), title: 'The Bookshop Fox', when }));
    const pubId = publication?.id ?? ('pub_missing' as T.PublicationId);
    await step('get_publication', () => c.publish.getPublication({ id: pubId }));
    await step('cancel_publication', () => c.publish.cancelPublication({ id: pubId }));
    // Keys cannot start an OAuth connection (a person in the console does): an on-spec 403.
    await step('start_channel_connection', () => c.publish.startChannelConnection({ platform: 'youtube' }));
    await step('disconnect_channel', () => c.publish.disconnectChannel({ id: channel?.id ?? ('ch_missing' as T.ChannelId) }));

    // ledger
    await step('get_ledger', () => c.ledger.get({ limit: 5 }));
    await step('update_account', () => c.ledger.updateAccount({ time_zone: 'Europe/Paris' }));
    const kept = await step('reserve_credits', () => c.ledger.reserve({ amount: 25, reason: 'Voice-over synthesis', expires_in_s: 600 }));
    await step('commit_reserve', () => c.ledger.commit({ id: kept?.id ?? ('rsv_missing' as T.ReservationId), amount: 18 }));
    const released = await c.ledger.reserve({ amount: 5, reason: 'Released again' }).catch(() => undefined);
    await step('refund_reserve', () => c.ledger.refund({ id: released?.id ?? ('rsv_missing' as T.ReservationId) }));

    // usage
    const month = new Date().toISOString().slice(0, 7);
    await step('get_monthly_usage', () => c.telemetry.getMonthlyUsage({ month }));
    await step('get_top_spenders', () => c.telemetry.getTopSpenders({ month, top: 5 }));

    // webhooks
    const endpoint = await step('create_webhook_endpoint', () =>
      c.webhooks.createEndpoint({ url: `${mediaBase}/hooks`, events: ['*'], description: 'Contract test' }),
    );
    const endpointId = endpoint?.id ?? ('whe_missing' as T.WebhookEndpointId);
    await step('list_webhook_endpoints', () => c.webhooks.listEndpoints({ limit: 5 }));
    const deliveries = await step('list_webhook_deliveries', () => c.webhooks.listDeliveries({ id: endpointId }));
    await step('replay_webhook_delivery', () => c.webhooks.replayDelivery({ id: deliveries?.data[0]?.id ?? ('whd_missing' as T.WebhookDeliveryId) }));
    await step('delete_webhook_endpoint', () => c.webhooks.deleteEndpoint({ id: endpointId }));

    // keys (the test's key has the admin scope, which may manage keys)
    const made = await step('create_api_key', () => c.keys.create({ name: 'Contract test' }));
    await step('list_api_keys', () => c.keys.list({ limit: 5 }));
    await step('revoke_api_key', () => c.keys.revoke({ id: made?.id ?? ('key_missing' as T.ApiKeyId) }));

    await step('delete_workflow', () => c.workflows.delete({ id: doomed.id }));

    // ---- verdicts
    expect(offSpec, prism.output().slice(-3000)).toEqual([]);
    const catalogIds = catalog!.operations.map((o) => o.operation_id);
    expect(catalogIds.sort()).toEqual(specOps.map((o) => o.operationId).sort());
    const notCalled = catalogIds.filter((id) => !outcomes.has(id));
    expect(notCalled, 'every catalog operation is called').toEqual([]);

    const skipped = [...outcomes].filter(([, o]) => o.kind === 'not_implemented').map(([id]) => id);
    const failed = [...outcomes].filter(([, o]) => o.kind === 'error').map(([id, o]) => `${id} ${(o as { status: number }).status} ${(o as { code: string }).code} (${(o as { message?: string }).message ?? ''})`);
    const ok = [...outcomes].filter(([, o]) => o.kind === 'ok').map(([id]) => id);
    console.log(
      `prism proxy: ${ok.length} operations answered 2xx on the spec, ${failed.length} answered an on-spec error, ${skipped.length} skipped as 501 not_implemented\n` +
        `  on-spec errors: ${failed.join(', ') || 'none'}\n  skipped (501): ${skipped.join(', ') || 'none'}\n` +
        `  checked without Prism (binary body): ${directlyChecked.join(', ') || 'none'}`,
    );
    for (const o of specOps) {
      if (MUST_BE_IMPLEMENTED.includes(o.op.tags[0])) expect(outcomes.get(o.operationId), o.operationId).toMatchObject({ kind: 'ok' });
    }
    // More than a handful of 2xx answers really went through Prism's checks.
    expect(ok.length).toBeGreaterThanOrEqual(specOps.filter((o) => MUST_BE_IMPLEMENTED.includes(o.op.tags[0])).length);
  });

  it('fails an answer that strays from the spec (a forged one, as a control)', async () => {
    try {
      tamper = (path) => (path.startsWith('/v1/_status') ? { status: 200, body: JSON.stringify({ status: 42 }) } : null);
      exchanges = [];
      await client.telemetry.getStatus({}).catch(() => undefined);
      expect(exchanges.at(-1)!.violation).toMatch(/response/i);

      tamper = (path) => (path.startsWith('/v1/_status') ? { status: 418, body: '{}' } : null);
      exchanges = [];
      await client.telemetry.getStatus({}).catch(() => undefined);
      expect(exchanges.at(-1)!.violation).not.toBeNull();

      // A 501 stub (which Prism papers over with a mocked example) counts as a skip, not a pass.
      const envelope = { error: { code: 'not_implemented', message: 'Not yet.', request_id: 'req_1' } };
      tamper = (path) => (path.startsWith('/v1/_status') ? { status: 501, body: JSON.stringify(envelope) } : null);
      offSpec.length = 0;
      await step('get_status', () => client.telemetry.getStatus({}));
      expect(outcomes.get('get_status')).toEqual({ kind: 'not_implemented' });
      expect(offSpec).toEqual([]);
    } finally {
      tamper = null;
    }
    // And untouched again afterwards.
    exchanges = [];
    await client.telemetry.getStatus({});
    expect(exchanges.at(-1)!.violation).toBeNull();
  });
});
