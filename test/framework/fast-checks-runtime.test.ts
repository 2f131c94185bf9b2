/**
 * The runtime with fast checks answers exactly as it does without them. One Koa app on a real
 * listener serves create_workflow's real validators twice, with an echo handler: once as generated
 * (fast checks first), once with the fast checks taken out (zod only). Every body of the
 * differential test's variants goes to both and must get the same status and the same bytes:
 * the same parsed input when valid, the same 400 issues, word for word, when not. Where the fast
 * route accepted, zod's body schema was never asked.
 */
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import Koa from 'koa';
import Router from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, renderError, type OperationValidators, type SchemaLike } from '../../packages/framework/src/index.js';
import { operations } from '../../generated/routes.gen.js';
import { operationValidators } from '../../generated/validators.gen.js';
import { buildIr } from '../../generator/ir.js';
import { BodyVariants } from '../generator/body-variants.js';

let server: http.Server;
let base: string;
let zodCalls = 0;

beforeAll(async () => {
  const generated = operationValidators.create_workflow;
  // zod's body schema, counted, behind the generated fast checks.
  const counted: SchemaLike = { safeParse: (v) => (zodCalls++, generated.body.safeParse(v)) as ReturnType<SchemaLike['safeParse']> };
  const fast: OperationValidators = { ...generated, body: counted };
  const zodOnly: OperationValidators = { ...generated, fastPath: undefined, fastQuery: undefined, fastHeaders: undefined, fastBody: undefined };
  const runtime = createRuntime<null>({ context: () => null });
  const echo = async (input: unknown) => ({ status: 201, body: { input } });
  const router = new Router();
  router.post('/fast', runtime.operation(operations.create_workflow, fast, echo));
  router.post('/zod', runtime.operation(operations.create_workflow, zodOnly, echo));
  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      renderError(ctx, err, () => undefined);
    }
  });
  app.use(router.routes());
  server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // The request id differs per request; everything else must not.
  return { status: r.status, text: (await r.text()).replace(/"request_id":"[^"]*"/, '') };
}

describe('create_workflow with and without fast checks', () => {
  it('answers every variant body the same, and asks zod only when the fast check says no', { timeout: 120_000 }, async () => {
    const ir = await buildIr('spec/openapi.yaml');
    const op = ir.operations.find((o) => o.operationId === 'create_workflow')!;
    const content = op.requestBody!.contents[0]!;
    const bodies = new BodyVariants(ir).all(content.schema, content.examples);
    let accepted = 0;
    let refused = 0;
    for (const body of bodies) {
      const before = zodCalls;
      const fast = await post('/fast', body);
      const zod = await post('/zod', body);
      expect(fast, JSON.stringify(body)?.slice(0, 200)).toEqual(zod);
      if (fast.status === 201) {
        expect(zodCalls, 'zod asked although the fast check accepted').toBe(before);
        accepted++;
      } else refused++;
    }
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('answers Idempotency-Key header values the same', async () => {
    const body = { name: 'x', shots: [{ prompt: 'p' }] };
    for (const key of ['k', '', ' ', 'a'.repeat(255), 'a'.repeat(256)]) {
      expect(await post('/fast', body, { 'idempotency-key': key }), key).toEqual(await post('/zod', body, { 'idempotency-key': key }));
    }
  });
});
