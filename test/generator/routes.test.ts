/**
 * The generated routes on a real Koa app and HTTP listener: mountRoutes registers every operation
 * under the base path, hands the runtime the operation's metadata and validators, calls the handler
 * with the parsed input, and sends its result.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPECS, generateInto, scratchDir } from './helpers.js';

type Schema = { parse(v: unknown): unknown };
type Validators = { path: Schema; query: Schema; headers: Schema; body: Schema; responses: Record<string, Schema> };
type Meta = { operationId: string; routerPath: string; requestContentTypes: string[]; successStatuses: number[] };

/** The smallest RouteRuntime: JSON bodies, zod errors -> 400, responses validated. */
const runtime = {
  operation(meta: Meta, v: Validators, call: (input: unknown, c: unknown) => Promise<{ status: number; body?: unknown; headers?: Record<string, string> }>) {
    return async (ctx: Koa.Context) => {
      let raw = '';
      for await (const chunk of ctx.req) raw += chunk;
      const body = raw ? JSON.parse(raw) : undefined;
      const input = { path: v.path.parse(ctx.params), query: v.query.parse(ctx.query), headers: v.headers.parse(ctx.headers), body: v.body.parse(body), meta };
      const result = await call(input, { requestId: String(ctx.get('x-request-id') || 'none') });
      v.responses[String(result.status)]?.parse(result.body);
      ctx.status = result.status;
      if (result.headers) ctx.set(result.headers);
      if (result.body !== undefined) ctx.body = result.body;
      ctx.set('x-operation', meta.operationId);
    };
  },
};

async function serve(spec: string, handlers: unknown): Promise<{ url: string; close: () => void; operations: Record<string, Meta> }> {
  const dir = scratchDir(`routes-${path.basename(spec, '.yaml')}`);
  await generateInto(spec, dir, { only: ['types', 'validators', 'routes', 'handlers'] });
  const routes = await import(pathToFileURL(path.join(dir, 'routes.gen.ts')).href);
  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (e) {
      ctx.status = (e as Error).name === 'ZodError' ? 400 : 500;
      ctx.body = { error: (e as Error).name };
    }
  });
  const router = new Router({ prefix: routes.basePath });
  routes.mountRoutes(router, handlers, runtime);
  app.use(router.routes()).use(router.allowedMethods());
  const server = app.listen(0);
  await new Promise((r) => server.once('listening', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close(), operations: routes.operations };
}

describe('petstore routes', () => {
  const pets = [{ id: 1, name: 'rex' }];
  const seen: unknown[] = [];
  let app: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    app = await serve(`${SPECS}/petstore.yaml`, {
      pets: {
        listPets: async (input: { query: { limit?: number } }, ctx: unknown) => {
          seen.push({ input, ctx });
          return { status: 200, body: pets.slice(0, input.query.limit ?? 100), headers: { 'x-next': 'n' } };
        },
        createPets: async (input: { body: { id: number; name: string } }) => (pets.push(input.body), { status: 201 }),
        showPetById: async (input: { path: { petId: string } }) => ({ status: 200, body: { id: Number(input.path.petId), name: 'x' } }),
      },
    });
  }, 120_000);
  afterAll(() => app?.close());

  it('has metadata for every operation', () => {
    expect(app.operations.showPetById).toMatchObject({ method: 'get', path: '/pets/{petId}', routerPath: '/pets/:petId', tag: 'pets', successStatuses: [200] });
    expect(app.operations.createPets).toMatchObject({ requestContentTypes: ['application/json'], successStatuses: [201] });
  });

  it('serves the typed handlers under the base path', async () => {
    const list = await fetch(`${app.url}/v1/pets?limit=1`, { headers: { 'x-request-id': 'r1' } });
    expect(list.status).toBe(200);
    expect(list.headers.get('x-next')).toBe('n');
    expect(list.headers.get('x-operation')).toBe('listPets');
    expect(await list.json()).toEqual([{ id: 1, name: 'rex' }]);
    expect(seen[0]).toMatchObject({ input: { query: { limit: 1 }, path: {}, body: undefined }, ctx: { requestId: 'r1' } });

    const created = await fetch(`${app.url}/v1/pets`, { method: 'POST', body: JSON.stringify({ id: 2, name: 'tom' }) });
    expect(created.status).toBe(201);
    expect(pets).toHaveLength(2);

    const one = await fetch(`${app.url}/v1/pets/7`);
    expect(await one.json()).toEqual({ id: 7, name: 'x' });
  });

  it('rejects invalid input before the handler runs', async () => {
    expect((await fetch(`${app.url}/v1/pets?limit=500`)).status).toBe(400);
    expect((await fetch(`${app.url}/v1/pets`, { method: 'POST', body: JSON.stringify({ name: 'no id' }) })).status).toBe(400);
    expect(pets).toHaveLength(2);
    expect((await fetch(`${app.url}/v1/pets`, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('routes with parameter names that are not identifiers', () => {
  let app: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    const pet = { pet_type: 'cat', id: 5, name: 'Tom' };
    const handler = async (input: unknown) => ({ status: 200, body: { ...pet, echo: input } });
    app = await serve(`${SPECS}/feature-3.0.yaml`, {
      pet_store: { pets_list_all: handler, createPet: handler, get_pet: handler, delete_: async () => ({ status: 204 }), upload_photo: handler },
      misc: { styles: async (input: unknown) => ({ status: 200, body: JSON.stringify(input) }), submitForm: handler, zoo: handler },
      default: { get_untagged: async () => ({ status: 204 }) },
    });
  }, 120_000);
  afterAll(() => app?.close());

  it('routes /pets/{pet-id} and label/matrix paths, coercing the values', async () => {
    const res = await fetch(`${app.url}/api/v2/pets/5?verbose=1`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { echo: unknown }).echo).toMatchObject({ path: { 'pet-id': 5 }, query: { verbose: 1 } });
    expect(app.operations.get_pet!.routerPath).toBe('/pets/:"pet-id"');

    const styles = await fetch(`${app.url}/api/v2/labels/.a,b/matrix/;point=3`);
    expect(JSON.parse(await styles.text())).toMatchObject({ path: { label: ['a', 'b'], point: 3 } });
    expect((await fetch(`${app.url}/api/v2/pets/5`, { method: 'DELETE' })).status).toBe(204);
  });
});

describe('paths with text a client must percent-encode', () => {
  let app: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    const ok = { 200: { description: 'ok', content: { 'application/json': { schema: {} } } } };
    const spec = {
      openapi: '3.1.0',
      info: { title: 'encoded', version: '1' },
      paths: {
        '/größe/{wert}': { get: { operationId: 'size', responses: ok } },
        '/a b/€"x"': { get: { operationId: 'spaced', responses: ok } },
      },
    };
    const file = path.join(scratchDir('encoded-spec'), 'encoded.json');
    writeFileSync(file, JSON.stringify(spec));
    const echo = async (input: { path: unknown }) => ({ status: 200, body: input.path });
    app = await serve(path.relative(process.cwd(), file), { default: { size: echo, spaced: echo } });
  }, 120_000);
  afterAll(() => app?.close());

  it('are routed as fetch sends them (UTF-8, percent-encoded)', async () => {
    // fetch encodes the path itself; the route must match what arrives, not the spec's text.
    const size = await fetch(`${app.url}/größe/straße`);
    expect(size.status).toBe(200);
    expect(await size.json()).toEqual({ wert: 'straße' });
    expect(app.operations.size!.routerPath).toBe('/gr%C3%B6%C3%9Fe/:wert');
    const spaced = await fetch(`${app.url}/a b/€"x"`);
    expect(spaced.status).toBe(200);
  });
});
