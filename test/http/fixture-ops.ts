/**
 * A hand-written stand-in for generated routes: a few operations exercising every runtime
 * feature, mounted the way generated/routes.gen.ts mounts the real ones.
 */
import type Router from '@koa/router';
import { z } from 'zod';
import { ApiError } from '../../src/http/errors.js';
import type { OperationMeta, OperationValidators } from '@lavendly/framework';
import type { Runtime } from '../../src/http/route-runtime.js';

function meta(partial: Partial<OperationMeta> & Pick<OperationMeta, 'operationId' | 'method' | 'path'>): OperationMeta {
  return {
    routerPath: partial.path.replace(/\{(\w+)\}/g, ':$1'),
    tag: 'things', idempotent: false, scopes: [], secured: true, pagination: null, requestContentTypes: [], successStatuses: [200], ...partial,
  };
}

const Thing = z.object({ id: z.string(), name: z.string(), n: z.number().int(), account_id: z.string() });
const ThingBody = z.object({ name: z.string().min(1).max(100), n: z.number().int().min(0).max(1000).optional() }).strict();

export const counters = { create: 0, flaky: 0 };
/** A create named 'held' waits for this gate, so a test decides when it answers whatever the machine's load. */
export const gates: { held: Promise<void> } = { held: Promise.resolve() };
let flakyFailures = 0;

export const fixtureOps: { meta: OperationMeta; v: OperationValidators; run: (input: any, ctx: any) => Promise<any> }[] = [
  {
    meta: meta({ operationId: 'create_thing', method: 'post', path: '/things', idempotent: true,
      requestContentTypes: ['application/json'], successStatuses: [201] }),
    v: {
      body: ThingBody,
      headers: z.object({ 'Idempotency-Key': z.string().optional() }),
      responses: { '201': Thing },
    },
    async run(input, ctx) {
      counters.create++;
      if (input.body.name === 'held') await gates.held;
      else await new Promise((r) => setTimeout(r, input.body.name === 'slow' ? 400 : 60));
      if (input.body.name === 'reject') throw new ApiError('conflict', 'rejected by rule');
      return { status: 201, body: { id: `thing_${counters.create}`, name: input.body.name, n: input.body.n ?? 0, account_id: ctx.account.id },
        headers: { Location: `/v1/things/thing_${counters.create}` } };
    },
  },
  {
    meta: meta({ operationId: 'get_thing', method: 'get', path: '/things/{id}' }),
    v: {
      path: z.object({ id: z.string().regex(/^thing_\d+$/) }),
      query: z.object({ verbose: z.enum(['true', 'false']).optional(), limit: z.coerce.number().int().min(1).max(100).optional() }),
      headers: z.object({ 'X-Trace': z.string().max(5).optional() }),
      responses: { '200': Thing },
    },
    async run(input, ctx) {
      return { status: 200, body: { id: input.path.id, name: 'x', n: 1, account_id: ctx.account.id } };
    },
  },
  {
    meta: meta({ operationId: 'flaky', method: 'post', path: '/flaky', idempotent: true,
      requestContentTypes: ['application/json'], successStatuses: [200] }),
    v: { body: z.object({ fail: z.number().int() }), responses: { '200': z.object({ ok: z.boolean(), calls: z.number() }) } },
    async run(input) {
      counters.flaky++;
      if (flakyFailures < input.body.fail) {
        flakyFailures++;
        throw new Error('upstream exploded with secret detail');
      }
      return { status: 200, body: { ok: true, calls: counters.flaky } };
    },
  },
  {
    meta: meta({ operationId: 'admin_only', method: 'get', path: '/admin', scopes: ['admin'] }),
    v: { responses: { '200': z.object({ ok: z.boolean() }) } },
    async run() { return { status: 200, body: { ok: true } }; },
  },
  {
    meta: meta({ operationId: 'open_status', method: 'get', path: '/open', secured: false }),
    v: { responses: { '200': z.object({ account: z.string().nullable() }) } },
    async run(_input, ctx) { return { status: 200, body: { account: ctx.maybeAccount?.id ?? null } }; },
  },
  {
    meta: meta({ operationId: 'boom', method: 'get', path: '/boom' }),
    v: {},
    async run() { throw new Error('database password is hunter2'); },
  },
  {
    meta: meta({ operationId: 'off_spec', method: 'get', path: '/off-spec' }),
    v: { responses: { '200': z.object({ ok: z.boolean() }) } },
    async run() { return { status: 200, body: { ok: 'yes' } }; },
  },
  {
    meta: meta({ operationId: 'delete_thing', method: 'delete', path: '/things/{id}', successStatuses: [204] }),
    v: { path: z.object({ id: z.string() }) },
    async run() { return { status: 204 }; },
  },
  {
    meta: meta({ operationId: 'upload', method: 'put', path: '/uploads/{id}', requestContentTypes: ['application/octet-stream'] }),
    v: { path: z.object({ id: z.string() }), responses: { '200': z.object({ bytes: z.number() }) } },
    async run(input) {
      let bytes = 0;
      for await (const chunk of input.body as AsyncIterable<Buffer>) bytes += chunk.length;
      return { status: 200, body: { bytes } };
    },
  },
];

export function resetCounters(): void {
  counters.create = 0;
  counters.flaky = 0;
  flakyFailures = 0;
}

export function mountFixtures(router: Router, rt: Runtime): void {
  for (const op of fixtureOps) {
    const method = op.meta.method as 'get' | 'post' | 'put' | 'delete';
    router[method](op.meta.routerPath, rt.operation(op.meta, op.v, op.run));
  }
}
