/**
 * The SDK emitter: naming, the generated client type-checking with real usage (and rejecting
 * misuse), and the generated methods driving a real node:http server.
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generate } from '../../generator/cli.js';
import { baseErrorName, clientClassName, methodNames } from '../../generator/shared/sdk-names.js';
import { buildIr, buildIrFromText } from '../../generator/ir.js';

const FIXTURE = 'test/fixtures/sdk/things.yaml';
const SPEC = 'spec/openapi.yaml';

let dir: string;
beforeAll(async () => {
  // tmp/ is git-ignored, so a fresh clone does not have it; generated code lives under the repo to resolve its packages.
  await mkdir(path.resolve('tmp'), { recursive: true });
  dir = await mkdtemp(path.resolve('tmp/test-sdk-'));
  await generate({ spec: FIXTURE, out: path.join(dir, 'things'), only: ['types', 'sdk'] });
  await generate({ spec: SPEC, out: path.join(dir, 'spec'), only: ['types', 'sdk'] });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('naming', () => {
  it('derives the client class from info.title', () => {
    expect(clientClassName('Lavendly API')).toBe('Lavendly');
    expect(clientClassName('Things REST API')).toBe('Things');
    expect(clientClassName('GitHub v3 REST API')).toBe('GitHub');
    expect(clientClassName('Swagger Petstore - OpenAPI 3.0')).toBe('SwaggerPetstore');
    expect(clientClassName("GitHub's official OpenAPI spec")).toBe('GitHubOfficial');
    expect(clientClassName('API')).toBe('API');
    expect(clientClassName('')).toBe('Client');
  });

  it('names methods after the operation without the tag words, unless that clashes', async () => {
    const ir = await buildIr(SPEC);
    const names = (tag: string) => {
      const info = ir.tagInfo.find((t) => t.name === tag)!;
      const m = methodNames(ir.operations.filter((o) => o.tag === tag), info);
      return Object.fromEntries([...m].map(([op, name]) => [op.operationId, name]));
    };
    expect(names('workflows')).toEqual({
      list_workflows: 'list', create_workflow: 'create', get_workflow: 'get', update_workflow: 'update', delete_workflow: 'delete',
    });
    expect(names('renders')).toMatchObject({ list_renders: 'list', create_render: 'create', get_render: 'get', list_all_renders: 'listAll' });
    expect(names('webhooks')).toMatchObject({ create_webhook_endpoint: 'createEndpoint', list_webhook_deliveries: 'listDeliveries' });

    const text = `openapi: 3.1.0
info: { title: t, version: '1' }
paths:
  /a: { get: { operationId: list_things, tags: [things], responses: { '204': { description: ok } } } }
  /b: { get: { operationId: things_list, tags: [things], responses: { '204': { description: ok } } } }
  /c: { get: { operationId: fetch_thing, tags: [things], x-sdk-method: get, responses: { '204': { description: ok } } } }
  /d: { get: { operationId: get_thing, tags: [things], responses: { '204': { description: ok } } } }
  /e: { get: { operationId: things, tags: [things], responses: { '204': { description: ok } } } }
`;
    const synthetic = buildIrFromText(text, 't.yaml', 'h');
    const m = methodNames(synthetic.operations, synthetic.tagInfo[0]!);
    expect(Object.fromEntries([...m].map(([op, name]) => [op.operationId, name]))).toEqual({
      list_things: 'listThings', // 'list' would clash with things_list
      things_list: 'thingsList',
      fetch_thing: 'get', // x-sdk-method wins
      get_thing: 'getThing', // 'get' was asked for explicitly
      things: 'things', // nothing left without the tag words
    });
  });
});

const THINGS_USAGE = `
import { Things, ThingsError, ValidationError, verifyWebhook, type ReplaceThingParams, type Thing, type TreeNode } from './sdk.gen';

const c = new Things({ apiKey: 'k', baseUrl: 'http://x', maxRetries: 1, timeout: 1000 });

export async function usage(): Promise<void> {
  const t: Thing = await c.things.create({ name: 'fox', size: null, x_trace_id: 't' }, { idempotencyKey: 'k' });
  const id: string = t.id;
  // @ts-expect-error name is required
  await c.things.create({ size: 1 });
  // @ts-expect-error no such field
  await c.things.create({ name: 'x', nope: 1 });
  const p: ReplaceThingParams = { id, name: 'b', body_id: 'c' };
  await c.things.replace(p);
  for await (const item of c.things.list({ limit: 7, tags: ['a'] })) {
    const s: string = item.id;
    void s;
  }
  const page = await c.things.list();
  const more: boolean = page.has_more;
  const tags: string[] = await c.things.setTags({ id: 'a', body: ['x'] });
  // @ts-expect-error the body is an array of strings
  await c.things.setTags({ id: 'a', body: [1] });
  await c.things.uploadBlob({ id: 'a', body: new Uint8Array([1]) });
  const gone: void = await c.things.delete({ id: 'a' });
  const tree: TreeNode = await c.things.plantTree({ body: { seed: 's' } });
  const job = await c.codeScanning.startJob();
  const done = await c.codeScanning.waitForStartJob(job, { timeout: 1000, interval: 10 });
  const state: 'queued' | 'running' | 'done' | 'error' = done.state;
  const viaRequest: Thing = await c.request('get_thing', { path: { id: 'a' } });
  const viaCall: Thing = await c.call('get_thing', { id: 'a' });
  const dynamic: unknown = await c.request('get_' + 'thing', {});
  // @ts-expect-error no such method
  c.things.nope();
  const issues = new ValidationError('x').issues;
  const base: ThingsError = new ValidationError('x');
  const code: string = base.code;
  void code;
  const event: Promise<unknown> = verifyWebhook('{}', {}, 'whsec_');
  void [more, tags, gone, tree, state, viaRequest, viaCall, dynamic, issues, event];
}
`;

const SPEC_USAGE = `
import { Lavendly, InsufficientCreditsError, verifyWebhook, type Render, type Workflow } from './sdk.gen';

const client = new Lavendly({ apiKey: 'k' });

export async function usage(): Promise<void> {
  const wf: Workflow = await client.workflows.create({ name: 'Bookshop fox', shots: [{ prompt: 'a sleepy fox', duration_s: 5 }] });
  // @ts-expect-error shots are required
  await client.workflows.create({ name: 'x' });
  for await (const w of client.workflows.list({ limit: 7 })) void w.id;
  const estimate = await client.generate.estimateCost({ id: wf.id });
  const ok: boolean = estimate.sufficient;
  const render = await client.renders.create({ id: wf.id }, { idempotencyKey: wf.id + ':render' });
  const finished: Render = await client.renders.waitForCreateRender(render, { timeout: 60_000 });
  const again: Render = await client.renders.get({ id: wf.id, job_id: finished.id });
  try {
    await client.workflows.get({ id: 'wf_x' });
  } catch (e) {
    if (e instanceof InsufficientCreditsError) void e.needed;
  }
  // The spec's webhooks type the verified event: narrowing on type gives each event's data.
  const event = await verifyWebhook('{}', {}, 'whsec_');
  if (event.type === 'render.failed') void event.data.error?.code;
  if (event.type === 'generation.finished') void event.data.scenes[0]?.status;
  // @ts-expect-error only some events carry a render id
  void event.data.render_id;
  // @ts-expect-error no such event
  if (event.type === 'render.started') void event;
  void [ok, again];
}
`;

describe('generated SDK type-checks', () => {
  it('compiles with usage (and rejects misuse) for the fixture and our spec', async () => {
    await writeFile(path.join(dir, 'things', 'usage.ts'), THINGS_USAGE);
    await writeFile(path.join(dir, 'spec', 'usage.ts'), SPEC_USAGE);
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { noEmit: true, noUnusedLocals: false }, include: ['**/*.ts'], exclude: [] }),
    );
    const tsc = path.resolve('node_modules/typescript/bin/tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')]).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? String(e),
    );
    expect(result).toBe('');
  }, 120_000);

  it('ships each runtime template file verbatim under a banner, sibling imports renamed', async () => {
    const templates = (await readdir('generator/templates/sdk-runtime')).filter((f) => f.endsWith('.ts'));
    expect(templates).toContain('index.ts');
    for (const template of templates) {
      const file = template === 'index.ts' ? 'sdk-runtime.gen.ts' : `sdk-runtime-${template.replace(/\.ts$/, '')}.gen.ts`;
      const shipped = await readFile(path.join(dir, 'spec', file), 'utf8');
      const source = await readFile(path.join('generator/templates/sdk-runtime', template), 'utf8');
      expect(shipped.startsWith('/* eslint-disable */'), file).toBe(true);
      expect(shipped).toContain(`${file}: GENERATED`);
      expect(shipped.endsWith(source.replace(/from '\.\/([\w-]+)\.js'/g, (_m, n: string) => `from './sdk-runtime-${n}.gen.js'`)), file).toBe(true);
      expect(shipped).not.toMatch(/from '\.\/(?!sdk-runtime-)[\w-]+\.js'/);
    }
    const sdk = await readFile(path.join(dir, 'spec', 'sdk.gen.ts'), 'utf8');
    expect(sdk).toMatch(/^export class Lavendly extends ApiClient<LavendlyOperations>/m);
    expect(sdk).toContain("from './sdk-runtime.gen.js'");
  });

  it("counts the runtime's type-only exports (export type { ... }) among its names", async () => {
    // They are the names generated ones must avoid, and api.md lists them; UploadBody was missed.
    const doc = await readFile('generated/sdk-api.gen.md', 'utf8');
    const runtime = doc.slice(doc.indexOf('## Runtime'));
    for (const name of ['UploadBody', 'Download', 'DownloadOptions', 'DownloadedFile', 'DownloadFileOptions']) expect(runtime).toContain(`\`${name}\``);
  });

  it('names the base error class for the API: ThingsError for the fixture, LavendlyError for ours (TypeScript and Python)', async () => {
    const things = path.join(dir, 'things');
    const sdkFiles = (await readdir(things)).filter((f) => /^sdk.*\.gen\.(ts|md)$/.test(f));
    expect(sdkFiles.length).toBeGreaterThan(5);
    for (const f of sdkFiles) expect(await readFile(path.join(things, f), 'utf8'), f).not.toContain('LavendlyError');
    const errors = await readFile(path.join(things, 'sdk-runtime-errors.gen.ts'), 'utf8');
    expect(errors).toMatch(/^export class ThingsError extends Error \{/m);
    expect(errors).toMatch(/^export class ValidationError extends ThingsError \{/m);
    expect(await readFile(path.join(things, 'sdk-api.gen.md'), 'utf8')).toContain('ThingsError');
    // Nor any of Lavendly's things in another API's reference (its downloads section named renders and stills).
    expect(await readFile(path.join(things, 'sdk-api.gen.md'), 'utf8')).not.toMatch(/render|asset|still/i);
    expect(await readFile(path.join(dir, 'spec', 'sdk-runtime-errors.gen.ts'), 'utf8')).toMatch(/^export class LavendlyError extends Error \{/m);
    // A name that is already another class's: the API's name + ApiError.
    expect(baseErrorName('Server', ['ServerError', 'ValidationError'])).toBe('ServerApiError');

    const py = path.join(dir, 'things-py');
    await generate({ spec: FIXTURE, out: py, only: ['python'] });
    const pkg = path.join(py, 'packages', 'python', 'src', 'things');
    for (const f of await readdir(pkg)) expect(await readFile(path.join(pkg, f), 'utf8'), f).not.toContain('LavendlyError');
    expect(await readFile(path.join(pkg, '_exceptions.py'), 'utf8')).toMatch(/^class ThingsError\(Exception\):/m);
    expect(await readFile(path.join(pkg, '__init__.py'), 'utf8')).toContain('"ThingsError",');
  });
});

// ---- against a real server -------------------------------------------------------------------
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}
let server: Server;
let base: string;
let seen: Seen[] = [];
let handle: (req: Seen, res: ServerResponse) => void = () => {};

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(s);
      handle(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  seen = [];
});

/** Bodies with every key the spec requires (the SDK refuses a success answer without them). */
const workflowBody = (id: string) => ({
  id, name: 'fox', description: null, aspect_ratio: '16:9', version: 1, scenes: [], nodes: [], edges: [],
  created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
});
const renderBody = (status: string, url: string | null) => ({
  id: 'rnd_1', workflow_id: 'wf_1', workflow_version: 1, status, progress: 0, label: null, url, url_expires_at: null, duration_s: null,
  credits_charged: 0, credits_reserved: 0, scenes_reused: 0, scenes_generated: 0, error: null, created_at: '2026-01-01T00:00:00Z', finished_at: null,
});

describe('generated SDK against a real server (fixture)', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let c: any;
  beforeAll(async () => {
    const { Things } = await import(path.join(dir, 'things', 'sdk.gen.ts'));
    c = new Things({ apiKey: 'sk_1', baseUrl: `${base}/api`, backoff: { initialDelay: 5, maxDelay: 10 } });
  });

  it('puts flattened params in path, query, headers and body', async () => {
    // Each answer the documented shape: the SDK refuses a success body without its required keys.
    handle = (req, res) => json(res, req.method === 'POST' ? 201 : 200, req.method === 'GET' ? { data: [], next_cursor: null, has_more: false } : { id: 't1', name: 'fox' });
    await c.things.create({ name: 'fox', size: 2, x_trace_id: 'trace-1' });
    await c.things.replace({ id: 'a/b', name: 'n', body_id: 'new' });
    await c.things.list({ limit: 2, tags: ['x', 'y'] });
    const [create, replace, list] = seen;
    expect([create!.method, create!.url]).toEqual(['POST', '/api/things']);
    expect(JSON.parse(create!.body.toString())).toEqual({ name: 'fox', size: 2 });
    expect(create!.headers['x-trace-id']).toBe('trace-1');
    expect(create!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(create!.headers.authorization).toBe('Bearer sk_1');
    expect([replace!.method, replace!.url]).toEqual(['PUT', '/api/things/a%2Fb']);
    expect(JSON.parse(replace!.body.toString())).toEqual({ name: 'n', id: 'new' });
    expect(replace!.headers['idempotency-key']).toBeUndefined();
    expect(list!.url).toBe('/api/things?limit=2&tags=x%2Cy');
  });

  it('sends a single body and raw bytes as they are', async () => {
    handle = (req, res) => (req.url.endsWith('/blob') ? (res.writeHead(204), res.end()) : json(res, 200, ['x']));
    expect(await c.things.setTags({ id: 'a', body: ['x'] })).toEqual(['x']);
    expect(await c.things.uploadBlob({ id: 'a', body: new Uint8Array([1, 2, 3]) })).toBeUndefined();
    expect(JSON.parse(seen[0]!.body.toString())).toEqual(['x']);
    expect([...seen[1]!.body]).toEqual([1, 2, 3]);
    expect(seen[1]!.headers['content-type']).toBe('application/octet-stream');
  });

  it('waits for a job with the generated waitFor helper', async () => {
    let polls = 0;
    handle = (req, res) => {
      if (req.method === 'POST') return json(res, 202, { id: 'job_1', state: 'queued' });
      polls++;
      json(res, 200, { id: 'job_1', state: polls < 2 ? 'running' : 'done' });
    };
    const job = await c.codeScanning.startJob();
    expect(await c.codeScanning.waitForStartJob(job, { interval: 10, timeout: 2000 })).toEqual({ id: 'job_1', state: 'done' });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /api/jobs', 'GET /api/jobs/job_1', 'GET /api/jobs/job_1']);
  });
});

describe('generated Lavendly SDK against a real server', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let sdk: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let client: any;
  beforeAll(async () => {
    sdk = await import(path.join(dir, 'spec', 'sdk.gen.ts'));
    client = new sdk.Lavendly({ apiKey: 'lv_test', baseUrl: `${base}/v1`, backoff: { initialDelay: 5, maxDelay: 10 } });
  });

  it('creates a workflow once across retries with one idempotency key', async () => {
    const made = new Map<string, unknown>();
    let calls = 0;
    handle = (req, res) => {
      calls++;
      const key = String(req.headers['idempotency-key']);
      if (!made.has(key)) made.set(key, { ...workflowBody(`wf_${made.size + 1}`), ...JSON.parse(req.body.toString()) });
      if (calls < 3) return json(res, 503, { error: { code: 'unavailable', message: 'try again', request_id: 'r' } });
      json(res, 201, made.get(key));
    };
    const wf = await client.workflows.create({ name: 'Bookshop fox', shots: [{ prompt: 'a fox' }] });
    expect(wf).toEqual({ ...workflowBody('wf_1'), name: 'Bookshop fox', shots: [{ prompt: 'a fox' }] });
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.headers['idempotency-key'])).size).toBe(1);
    expect(made.size).toBe(1);
    expect(seen.every((s) => s.method === 'POST' && s.url === '/v1/workflows')).toBe(true);
  });

  it('walks a 250-item list exactly once with for await', async () => {
    const all = Array.from({ length: 250 }, (_, i) => ({ id: `wf_${String(i).padStart(3, '0')}` }));
    handle = (req, res) => {
      const q = new URL(req.url, 'http://x').searchParams;
      const start = Number(q.get('cursor') ?? 0);
      const limit = Number(q.get('limit'));
      const end = Math.min(start + limit, all.length);
      json(res, 200, { data: all.slice(start, end), has_more: end < all.length, next_cursor: end < all.length ? String(end) : null });
    };
    const ids: string[] = [];
    for await (const wf of client.workflows.list({ limit: 7 })) ids.push(wf.id);
    expect(ids).toEqual(all.map((w) => w.id));
    expect(seen).toHaveLength(36);
  });

  it('turns an error envelope into a typed error', async () => {
    handle = (_req, res) =>
      json(res, 402, { error: { code: 'insufficient_credits', message: 'This needs 40 credits but only 12 are available.', request_id: 'req_9', needed: 40, available: 12 } });
    const err = await client.generate.estimateCost({ id: 'wf_1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(sdk.InsufficientCreditsError);
    expect(err).toBeInstanceOf(sdk.LavendlyError);
    expect([err.status, err.requestId, err.needed, err.available]).toEqual([402, 'req_9', 40, 12]);
  });

  it('polls a render with args mapped from the job', async () => {
    let polls = 0;
    handle = (req, res) => {
      if (req.method === 'POST') return json(res, 202, renderBody('queued', null));
      polls++;
      json(res, 200, renderBody(polls < 3 ? 'running' : 'succeeded', polls < 3 ? null : 'http://v'));
    };
    const job = await client.renders.create({ id: 'wf_1', label: 'cut 1' });
    const done = await client.renders.waitForCreateRender(job, { interval: 10, timeout: 2000 });
    expect(done.status).toBe('succeeded');
    expect(seen[0]!.url).toBe('/v1/workflows/wf_1/renders');
    expect(JSON.parse(seen[0]!.body.toString())).toEqual({ label: 'cut 1' });
    expect(seen.slice(1).map((s) => s.url)).toEqual(Array(3).fill('/v1/workflows/wf_1/renders/rnd_1'));
  });

  it('serves the MCP server through the generic request', async () => {
    const status = { version: '1', server_time: '2026-01-01T00:00:00Z', database: 'ok', providers: [], queue: {} };
    handle = (_req, res) => json(res, 200, status);
    expect(await client.request('get_status', {})).toEqual(status);
    expect(seen[0]!.url).toBe('/v1/_status');
  });
});
