/**
 * The generated SDK against a Prism mock of spec/openapi.yaml: the contract itself, not our
 * server. Every operation is called once through its typed method with the spec's examples;
 * Prism checks the request (`--errors`) and answers with the spec's example, which must come back
 * through the SDK unchanged and pass the generated zod response validator. Then every declared
 * error response of every operation becomes its typed error, and an invalid request is refused
 * by Prism and surfaces as a typed ValidationError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  IdempotencyError,
  InsufficientCreditsError,
  Lavendly,
  LavendlyError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
  ValidationError,
  type LavendlyOperations,
  type RequestOptions,
} from '../../generated/sdk.gen.js';
import type * as T from '../../generated/types.gen.js';
import { operationValidators } from '../../generated/validators.gen.js';
import { deref, firstExample, loadSpec, pathMatches, specOperations, startPrism, type PrismProcess } from './prism.js';

const spec = loadSpec();
const ops = specOperations(spec);
const opById = new Map(ops.map((o) => [o.operationId, o]));

/** The request body example of an operation, typed as the caller's body. */
function bodyExample<B>(operationId: string): B {
  const rb = deref(spec, opById.get(operationId)!.op.requestBody);
  const value = firstExample(spec, rb?.content?.['application/json']);
  if (value === undefined) throw new Error(`${operationId} has no request body example`);
  return structuredClone(value) as B;
}

/** Path ids from the id schemas' own examples. */
const schemaExample = (name: string): string => spec.components.schemas[name].examples[0];
const WF = schemaExample('WorkflowId') as T.WorkflowId;
const AST = schemaExample('AssetId') as T.AssetId;
const UPL = schemaExample('UploadId') as T.UploadId;
const PUB = schemaExample('PublicationId') as T.PublicationId;
const RSV = schemaExample('ReservationId') as T.ReservationId;
const WHE = schemaExample('WebhookEndpointId') as T.WebhookEndpointId;
const WHD = schemaExample('WebhookDeliveryId') as T.WebhookDeliveryId;
const NODE = schemaExample('NodeId') as T.NodeId;
const TRK = schemaExample('TrackId') as T.TrackId;
const RND = schemaExample('RenderId') as T.RenderId;
const KEY = schemaExample('ApiKeyId') as T.ApiKeyId;
const CH = schemaExample('ChannelId') as T.ChannelId;

type Call<K extends keyof LavendlyOperations> = (c: Lavendly, o: RequestOptions) => PromiseLike<LavendlyOperations[K]['response']>;

/**
 * One typed call per operation. The mapped type makes a missing operation a compile error; the
 * recorded request (method + path) proves each entry calls the method of its own operation.
 */
const calls: { [K in keyof LavendlyOperations]: Call<K> } = {
  list_workflows: (c, o) => c.workflows.list({ limit: 2 }, o),
  create_workflow: (c, o) => c.workflows.create(bodyExample<T.CreateWorkflowRequest>('create_workflow'), o),
  get_workflow: (c, o) => c.workflows.get({ id: WF }, o),
  update_workflow: (c, o) => c.workflows.update({ id: WF, if_match: '"2"', ...bodyExample<T.UpdateWorkflowRequest>('update_workflow') }, o),
  delete_workflow: (c, o) => c.workflows.delete({ id: WF }, o),
  import_asset: (c, o) => c.assets.import(bodyExample<T.ImportAssetRequest>('import_asset'), o),
  create_upload: (c, o) => c.assets.createUpload(bodyExample<T.CreateUploadRequest>('create_upload'), o),
  put_upload: (c, o) => c.assets.upload({ id: UPL, token: 'tok_example', body: new Uint8Array([0x49, 0x44, 0x33, 0x04]) }, o),
  get_asset: (c, o) => c.assets.get({ id: AST }, o),
  estimate_cost: (c, o) => c.generate.estimateCost({ id: WF, node_id: NODE }, o),
  generate_scene: (c, o) => c.generate.start({ id: WF, ...bodyExample<T.GenerateSceneRequest>('generate_scene') }, o),
  get_generation_status: (c, o) => c.generate.getStatus({ id: WF }, o),
  get_workflow_audio: (c, o) => c.audio.get({ id: WF }, o),
  set_clip_native_audio: (c, o) => c.audio.setNativeAudio({ id: WF, clip_id: NODE, ...bodyExample<T.SetNativeAudioRequest>('set_clip_native_audio') }, o),
  attach_track: (c, o) => c.audio.attachTrack({ id: WF, clip_id: NODE, ...bodyExample<T.AttachTrackRequest>('attach_track') }, o),
  detach_track: (c, o) => c.audio.detachTrack({ id: WF, track_id: TRK }, o),
  update_track: (c, o) => c.audio.updateTrack({ id: WF, track_id: TRK, ...bodyExample<T.UpdateTrackRequest>('update_track') }, o),
  list_renders: (c, o) => c.renders.list({ id: WF, limit: 5 }, o),
  create_render: (c, o) => c.renders.create({ id: WF, ...bodyExample<T.CreateRenderRequest>('create_render') }, o),
  get_render: (c, o) => c.renders.get({ id: WF, job_id: RND }, o),
  update_render: (c, o) => c.renders.update({ id: WF, job_id: RND, ...bodyExample<T.UpdateRenderRequest>('update_render') }, o),
  list_all_renders: (c, o) => c.renders.listAll({ status: 'succeeded' }, o),
  quality_check: (c, o) => c.review.qualityCheck({ id: WF, ...bodyExample<T.QualityCheckRequest>('quality_check') }, o),
  get_scene_frame: (c, o) => c.review.getSceneFrame({ id: WF, ...bodyExample<T.SceneFrameRequest>('get_scene_frame') }, o),
  review_scenes: (c, o) => c.review.scenes({ id: WF, ...bodyExample<T.ReviewScenesRequest>('review_scenes') }, o),
  list_channels: (c, o) => c.publish.listChannels({}, o),
  connect_channel: (c, o) => c.publish.connectChannel(bodyExample<T.ConnectChannelRequest>('connect_channel'), o),
  start_channel_connection: (c, o) => c.publish.startChannelConnection(bodyExample<T.StartChannelConnectionRequest>('start_channel_connection'), o),
  disconnect_channel: (c, o) => c.publish.disconnectChannel({ id: CH }, o),
  publish_video: (c, o) => c.publish.video({ id: WF, ...bodyExample<T.PublishRequest>('publish_video') }, o),
  get_publication: (c, o) => c.publish.getPublication({ id: PUB }, o),
  cancel_publication: (c, o) => c.publish.cancelPublication({ id: PUB }, o),
  get_ledger: (c, o) => c.ledger.get({ limit: 3 }, o),
  update_account: (c, o) => c.ledger.updateAccount({ time_zone: 'Europe/Paris' }, o),
  reserve_credits: (c, o) => c.ledger.reserve(bodyExample<T.ReserveCreditsRequest>('reserve_credits'), o),
  commit_reserve: (c, o) => c.ledger.commit({ id: RSV, ...bodyExample<T.CommitReservationRequest>('commit_reserve') }, o),
  refund_reserve: (c, o) => c.ledger.refund({ id: RSV }, o),
  get_monthly_usage: (c, o) => c.telemetry.getMonthlyUsage({ month: '2026-01' }, o),
  get_top_spenders: (c, o) => c.telemetry.getTopSpenders({ month: '2026-01', top: 5 }, o),
  get_status: (c, o) => c.telemetry.getStatus({}, o),
  get_schema: (c, o) => c.telemetry.getSchema({}, o),
  list_webhook_endpoints: (c, o) => c.webhooks.listEndpoints({ limit: 10 }, o),
  create_webhook_endpoint: (c, o) => c.webhooks.createEndpoint(bodyExample<T.CreateWebhookEndpointRequest>('create_webhook_endpoint'), o),
  delete_webhook_endpoint: (c, o) => c.webhooks.deleteEndpoint({ id: WHE }, o),
  list_webhook_deliveries: (c, o) => c.webhooks.listDeliveries({ id: WHE }, o),
  replay_webhook_delivery: (c, o) => c.webhooks.replayDelivery({ id: WHD }, o),
  list_api_keys: (c, o) => c.keys.list({ limit: 10 }, o),
  create_api_key: (c, o) => c.keys.create(bodyExample<T.CreateApiKeyRequest>('create_api_key'), o),
  revoke_api_key: (c, o) => c.keys.revoke({ id: KEY }, o),
};
const callFor = (id: string) => (calls as Record<string, Call<keyof LavendlyOperations>>)[id]!;

interface Exchange {
  method: string;
  path: string;
  search: URLSearchParams;
  requestHeaders: Headers;
  status: number;
  headers: Headers;
}

let prism: PrismProcess;
let exchanges: Exchange[] = [];
/** A fetch that records every exchange into `into`, so tests see status and headers next to the typed body. */
const recordingFetch =
  (into: () => Exchange[]): typeof fetch =>
  async (input, init) => {
    const req = new Request(input, init);
    const res = await fetch(req);
    const url = new URL(req.url);
    into().push({ method: req.method, path: url.pathname, search: url.searchParams, requestHeaders: req.headers, status: res.status, headers: res.headers });
    return res;
  };
const newClient = (into: () => Exchange[]) =>
  new Lavendly({ apiKey: 'lv_test_contract', baseUrl: prism.url, maxRetries: 0, timeout: 10_000, fetch: recordingFetch(into) });
let client: Lavendly;

beforeAll(async () => {
  prism = await startPrism({ mock: true });
  client = newClient(() => exchanges);
}, 60_000);
afterAll(() => prism?.stop());

const successStatus = (operationId: string): string => Object.keys(opById.get(operationId)!.op.responses).find((s) => s.startsWith('2'))!;

function successExample(operationId: string, status: string): unknown {
  const response = deref(spec, opById.get(operationId)!.op.responses[status]);
  return firstExample(spec, response.content?.['application/json']);
}

const called = new Set<string>();

describe('every operation through the SDK against the Prism mock', () => {
  it.each(ops.map((o) => [o.operationId]))('%s', async (operationId) => {
    const op = opById.get(operationId)!;
    exchanges = [];
    const body = await callFor(operationId)(client, {});
    called.add(operationId);

    // The SDK sent the request of this operation, and Prism accepted it (a refused request would
    // have thrown: --errors answers it with 4xx).
    expect(exchanges, prism.output().slice(-2000)).toHaveLength(1);
    const ex = exchanges[0]!;
    expect(ex.method.toLowerCase()).toBe(op.method);
    expect(pathMatches(op.path, ex.path), `${ex.path} vs ${op.path}`).toBe(true);
    expect(ex.headers.get('sl-violations')).toBeNull();
    expect(ex.requestHeaders.get('authorization')).toBe('Bearer lv_test_contract');
    if (op.op['x-idempotent']) expect(ex.requestHeaders.get('idempotency-key')).toMatch(/\S/);

    // The typed result: the declared status, a body the generated validator accepts, and exactly
    // the spec's example (nothing lost or reshaped on the way through the SDK).
    const status = successStatus(operationId);
    expect(String(ex.status)).toBe(status);
    const validator = (operationValidators as Record<string, { responses: Record<string, { safeParse(v: unknown): { success: boolean; error?: unknown } }> }>)[operationId]!.responses[status]!;
    const parsed = validator.safeParse(body);
    expect(parsed.success, JSON.stringify(parsed.error)).toBe(true);
    expect(body).toEqual(successExample(operationId, status));
  });

  it('called every operation of the spec', () => {
    expect(ops.length).toBeGreaterThan(0);
    expect(Object.keys(calls).sort()).toEqual(ops.map((o) => o.operationId).sort());
    expect([...called].sort()).toEqual(ops.map((o) => o.operationId).sort());
    expect(called.size).toBe(ops.length);
  });
});

describe('SDK behaviour over the contract', () => {
  it('sends the caller idempotency key as the Idempotency-Key header', async () => {
    exchanges = [];
    await client.renders.create({ id: WF }, { idempotencyKey: 'wf_7Qk2mN4pX9:render:1' });
    expect(exchanges[0]!.requestHeaders.get('idempotency-key')).toBe('wf_7Qk2mN4pX9:render:1');
  });

  it('follows next_cursor page by page', async () => {
    exchanges = [];
    const pages: T.WorkflowList[] = [];
    for await (const page of client.workflows.list({ limit: 2 }).pages()) {
      pages.push(page);
      if (pages.length === 2) break;
    }
    expect(pages[0]!.has_more).toBe(true);
    expect(exchanges.map((e) => e.search.get('cursor'))).toEqual([null, pages[0]!.next_cursor]);
    expect(exchanges.every((e) => e.search.get('limit') === '2')).toBe(true);
  });

  it('waits for a render and a publication to reach a terminal state', async () => {
    const render = await client.renders.create({ id: WF });
    const done = await client.renders.waitForCreateRender(render, { interval: 10, timeout: 5_000 });
    expect(done.status).toBe('succeeded');
    const publication = await client.publish.video({ id: WF, ...bodyExample<T.PublishRequest>('publish_video') });
    const published = await client.publish.waitForPublishVideo(publication, { interval: 10, timeout: 5_000 });
    expect(['published', 'failed', 'canceled']).toContain(published.status);
  });
});

/** The SDK class each error envelope code should become. */
const expectedErrorClass: Record<string, typeof LavendlyError> = {
  validation_error: ValidationError,
  unauthorized: AuthenticationError,
  insufficient_credits: InsufficientCreditsError,
  forbidden: PermissionError,
  not_found: NotFoundError,
  idempotency_key_reused: IdempotencyError,
  rate_limited: RateLimitError,
  internal_error: ServerError,
};

describe('typed errors', () => {
  // Every operation with one of its declared error statuses (rotating through them), and every
  // status at least once: the mapping depends on the envelope, not on the operation, so the full
  // cross product (over 200 exchanges) would only slow the suite down.
  const cases: (readonly [string, string])[] = [];
  const statusesSeen = new Set<string>();
  ops.forEach((o, i) => {
    const statuses = Object.keys(o.op.responses).filter((s) => /^[45]\d\d$/.test(s));
    const pick = statuses.find((s) => !statusesSeen.has(s)) ?? statuses[i % statuses.length];
    if (pick) cases.push([o.operationId, pick]);
    statuses.forEach((s) => statusesSeen.add(s));
  });
  for (const status of statusesSeen) {
    if (!cases.some(([, s]) => s === status)) {
      const o = ops.find((x) => status in x.op.responses)!;
      cases.push([o.operationId, status]);
    }
  }

  it(`declared error responses (${cases.length} exchanges, every status) become typed LavendlyErrors`, async () => {
    const one = async ([operationId, status]: readonly [string, string]) => {
      const envelope = firstExample(spec, deref(spec, opById.get(operationId)!.op.responses[status]).content?.['application/json']) as {
        error: { code: string; message: string; request_id: string; [k: string]: unknown };
      };
      const seen: Exchange[] = [];
      const err = await callFor(operationId)(newClient(() => seen), { headers: { Prefer: `code=${status}` } }).then(
        () => new Error(`${operationId} answered 2xx for Prefer code=${status}`),
        (e: unknown) => e,
      );
      const where = `${operationId} ${status}`;
      expect(err, where).toBeInstanceOf(LavendlyError);
      const e = err as LavendlyError;
      expect(e.status, where).toBe(Number(status));
      expect(e.code, where).toBe(envelope.error.code);
      expect(e.message, where).toBe(envelope.error.message);
      expect(e.requestId, where).toBe(envelope.error.request_id);
      const { code: _c, message: _m, request_id: _r, ...extra } = envelope.error;
      expect(e.details, where).toEqual(extra);
      const cls = expectedErrorClass[envelope.error.code] ?? (Number(status) === 422 ? ValidationError : LavendlyError);
      expect(e, where).toBeInstanceOf(cls);
      // One attempt: maxRetries is 0 here, so 429/5xx are not retried.
      expect(seen, where).toHaveLength(1);
    };
    // A few at a time: Prism answers each in tens of milliseconds, mostly spent waiting.
    const queue = [...cases];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await one(c);
    }));
  });

  it('gives details their typed accessors', async () => {
    const credits = await client.generate.start({ id: WF }, { headers: { Prefer: 'code=402' } }).catch((e: unknown) => e);
    expect(credits).toBeInstanceOf(InsufficientCreditsError);
    expect((credits as InsufficientCreditsError).needed).toEqual(expect.any(Number));
    const limited = await client.workflows.list({}, { headers: { Prefer: 'code=429' } }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).retryAfter).toEqual(expect.any(Number));
  });

  it('a request the spec refuses comes back as a ValidationError from Prism', async () => {
    exchanges = [];
    const bad = { ...bodyExample<T.CreateWorkflowRequest>('create_workflow'), shots: [] as T.Shot[], aspect_ratio: 'round' } as unknown as T.CreateWorkflowRequest;
    const err = await client.workflows.create(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.status).toBe(400);
    expect(v.code).toBe('validation_error');
    expect(v.issueList.length).toBeGreaterThan(0);
    // Prism's own verdict, not a canned answer: it lists what it found wrong with the request.
    const violations = JSON.parse(exchanges[0]!.headers.get('sl-violations') ?? '[]') as { location: string[] }[];
    expect(violations.map((x) => x.location.join('.'))).toEqual(expect.arrayContaining(['request.body.shots', 'request.body.aspect_ratio']));

    const badPath = await client.workflows.get({ id: 'nope' as T.WorkflowId }).catch((e: unknown) => e);
    expect(badPath).toBeInstanceOf(ValidationError);
    const badQuery = await client.workflows.list({ limit: 1000 }).catch((e: unknown) => e);
    expect(badQuery).toBeInstanceOf(ValidationError);
    const noKey = await new Lavendly({ baseUrl: prism.url, apiKey: '', maxRetries: 0 }).workflows.list().catch((e: unknown) => e);
    expect(noKey).toBeInstanceOf(AuthenticationError);
  });
});
