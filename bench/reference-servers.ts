/**
 * Reference servers for bench/http.ts (`--references`): the same two routes as the full stack,
 * GET /v1/workflows/{id} and POST /v1/workflows, written the shortest way on each framework over
 * one better-sqlite3 table with prepared statements. They put an absolute figure beside our own
 * per-request cost: what a request costs when nearly nothing but the framework and the driver runs.
 *
 *   node --import tsx bench/reference-servers.ts koa|fastify
 *
 * Both check the bearer key (a constant-time compare against one key), parse and validate the JSON
 * body (Fastify: its ajv schemas; Koa: by hand), store the workflow as one JSON row and answer it.
 * Prints `{ port, controlPort, key, workflowId }` like bench/http-server.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SHOTS } from './http-server.js';
import { probeServer } from './latency-probe.js';
import { exitWithParent } from './exit-with-parent.js';

type Shot = { prompt: string; image_prompt?: string; duration_s: number };
type CreateBody = { name: string; aspect_ratio?: string; shots: Shot[] };

function openStore() {
  const root = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(root, 'lavendly-bench-ref-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const db = new Database(path.join(dir, 'ref.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('create table workflows (id text primary key, account_id text not null, doc text not null)');
  const insert = db.prepare('insert into workflows (id, account_id, doc) values (?, ?, ?)');
  const select = db.prepare('select doc from workflows where id = ? and account_id = ?').pluck();
  const accountId = 'acc_ref';
  const key = `lvd_${crypto.randomBytes(24).toString('base64url')}`;
  const keyBuf = Buffer.from(`Bearer ${key}`);
  return {
    key,
    authorized(header: string | undefined): boolean {
      const got = Buffer.from(header ?? '');
      return got.length === keyBuf.length && crypto.timingSafeEqual(got, keyBuf);
    },
    create(body: CreateBody) {
      const now = new Date().toISOString();
      const wf = {
        id: `wf_${crypto.randomBytes(12).toString('base64url')}`, name: body.name, aspect_ratio: body.aspect_ratio ?? '16:9',
        version: 1, status: 'draft', created_at: now, updated_at: now,
        scenes: body.shots.map((s, i) => ({ node_id: `scene_${i + 1}`, prompt: s.prompt, image_prompt: s.image_prompt ?? null, duration_s: s.duration_s })),
      };
      insert.run(wf.id, accountId, JSON.stringify(wf));
      return wf;
    },
    /** The stored JSON text, answered as is. */
    get(id: string): string | undefined {
      return select.get(id, accountId) as string | undefined;
    },
  };
}

function validBody(b: unknown): b is CreateBody {
  if (typeof b !== 'object' || b === null) return false;
  const o = b as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name.length < 1 || o.name.length > 200) return false;
  if (o.aspect_ratio !== undefined && !['16:9', '9:16', '1:1'].includes(o.aspect_ratio as string)) return false;
  return Array.isArray(o.shots) && o.shots.length >= 1 && o.shots.length <= 50 && o.shots.every((s: unknown) => {
    const shot = s as Record<string, unknown>;
    return typeof s === 'object' && s !== null && typeof shot.prompt === 'string' && shot.prompt.length >= 1
      && (shot.image_prompt === undefined || typeof shot.image_prompt === 'string')
      && typeof shot.duration_s === 'number' && shot.duration_s > 0 && shot.duration_s <= 60;
  });
}

async function koaServer(store: ReturnType<typeof openStore>): Promise<http.Server> {
  const { default: Koa } = await import('koa');
  const { default: Router } = await import('@koa/router');
  const { default: getRawBody } = await import('raw-body');
  const app = new Koa();
  const router = new Router({ prefix: '/v1' });
  app.use(async (ctx, next) => {
    if (!store.authorized(ctx.get('authorization'))) { ctx.status = 401; ctx.body = { error: { code: 'unauthorized' } }; return; }
    await next();
  });
  router.get('/workflows/:id', (ctx) => {
    const doc = store.get(ctx.params.id!);
    if (!doc) { ctx.status = 404; ctx.body = { error: { code: 'not_found' } }; return; }
    ctx.type = 'application/json';
    ctx.body = doc;
  });
  router.post('/workflows', async (ctx) => {
    let body: unknown;
    try { body = JSON.parse((await getRawBody(ctx.req, { limit: 1024 * 1024 })).toString('utf8')); } catch { body = null; }
    if (!validBody(body)) { ctx.status = 400; ctx.body = { error: { code: 'validation_failed' } }; return; }
    ctx.status = 201;
    ctx.body = store.create(body);
  });
  app.use(router.routes());
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return server;
}

const shotSchema = {
  type: 'object', required: ['prompt', 'duration_s'], additionalProperties: false,
  properties: {
    prompt: { type: 'string', minLength: 1 }, image_prompt: { type: 'string' },
    duration_s: { type: 'number', exclusiveMinimum: 0, maximum: 60 },
  },
} as const;
const workflowSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, aspect_ratio: { type: 'string' }, version: { type: 'integer' },
    status: { type: 'string' }, created_at: { type: 'string' }, updated_at: { type: 'string' },
    scenes: {
      type: 'array',
      items: {
        type: 'object',
        properties: { node_id: { type: 'string' }, prompt: { type: 'string' }, image_prompt: { type: ['string', 'null'] }, duration_s: { type: 'number' } },
      },
    },
  },
} as const;

async function fastifyServer(store: ReturnType<typeof openStore>): Promise<http.Server> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (req, reply) => {
    if (!store.authorized(req.headers.authorization)) return reply.code(401).send({ error: { code: 'unauthorized' } });
  });
  app.get<{ Params: { id: string } }>('/v1/workflows/:id', {
    schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] } },
  }, async (req, reply) => {
    const doc = store.get(req.params.id);
    if (!doc) return reply.code(404).send({ error: { code: 'not_found' } });
    return reply.type('application/json').send(doc);
  });
  app.post<{ Body: CreateBody }>('/v1/workflows', {
    schema: {
      body: {
        type: 'object', required: ['name', 'shots'], additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 200 }, aspect_ratio: { enum: ['16:9', '9:16', '1:1'] },
          shots: { type: 'array', minItems: 1, maxItems: 50, items: shotSchema },
        },
      },
      response: { 201: workflowSchema },
    },
  }, async (req, reply) => reply.code(201).send(store.create(req.body)));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
}

async function main(): Promise<void> {
  exitWithParent();
  const which = process.argv[2];
  if (which !== 'koa' && which !== 'fastify') throw new Error('usage: reference-servers.ts koa|fastify');
  const store = openStore();
  const workflow = store.create({ name: 'Bench fox', aspect_ratio: '9:16', shots: SHOTS });
  const server = which === 'koa' ? await koaServer(store) : await fastifyServer(store);
  const read = probeServer(server);
  const control = http.createServer((req, res) => res.end(JSON.stringify(read(req.url))));
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', () => resolve()));
  process.stdout.write(`${JSON.stringify({
    port: (server.address() as { port: number }).port, controlPort: (control.address() as { port: number }).port,
    key: store.key, workflowId: workflow.id,
  })}\n`);
}

await main();
