/**
 * readOnly and writeOnly by direction (generator/ir-direction.ts). The fixture's `Pet` is a request
 * body and a response with a required readOnly `id` and a required writeOnly `secret`, reaching
 * `Owner` (its readOnly `id` through a $ref to a readOnly component), an allOf (`Dog` over `Base`)
 * and a discriminated oneOf (`Animal`); `Note` is only sent, `Tag` has neither keyword.
 * The requests: a real listener serving the framework's runtime with the generated routes, called
 * by fetch and by the generated TS client (also type-checked under strict options).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIr } from '../../generator/ir.js';
import { createApp, createRuntime } from '../../packages/framework/src/index.js';
import { SPECS, generateInto, scratchDir, typecheck } from './helpers.js';

const SPEC = `${SPECS}/read-write-only.yaml`;
type Obj = { [key: string]: unknown };

describe('the IR by direction', () => {
  it('splits only components both directions use and whose views differ', async () => {
    const ir = await buildIr(SPEC);
    expect(ir.schemas.map((c) => c.name)).toEqual([
      'Pet', 'PetInput', 'Owner', 'OwnerInput', 'ServerId', 'Tag', 'Animal', 'AnimalInput',
      'Cat', 'CatInput', 'Dog', 'DogInput', 'Base', 'BaseInput', 'Note',
    ]);
    const schema = (name: string) => ir.schemas.find((c) => c.name === name)!.schema as Obj;
    // Response view: readOnly stays required, writeOnly is absent; request view the other way round.
    expect(schema('Pet').required).toEqual(['id', 'name', 'owner']);
    expect((schema('Pet').properties as Obj).secret).toEqual({ writeOnly: true, not: {} });
    expect(schema('PetInput').required).toEqual(['name', 'secret', 'owner']);
    expect((schema('PetInput').properties as Obj).id).toEqual({ readOnly: true, description: 'Set by the server.', not: {} });
    expect((schema('PetInput').properties as Obj).owner).toEqual({ $ref: '#/components/schemas/OwnerInput' });
    expect((schema('PetInput').properties as Obj).tags).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Tag' } });
    // `required: [id]` beside a $ref whose `id` is readOnly is dropped too; a request-only schema changes in place.
    expect(((schema('DogInput').allOf as Obj[])[1]!).required).toEqual(['kind', 'bark']);
    expect(schema('Note').required).toEqual(['text']);
    expect(ir.schemas.find((c) => c.name === 'CatInput')!.variantOf).toBe('Cat');
    const op = (id: string) => ir.operations.find((o) => o.operationId === id)!;
    expect(op('create_pet').requestBody!.contents[0]!.schema).toEqual({ $ref: '#/components/schemas/PetInput' });
    expect(op('create_pet').responses[0]!.contents[0]!.schema).toEqual({ $ref: '#/components/schemas/Pet' });
    expect((op('create_animal').requestBody!.contents[0]!.schema as Obj).$ref).toBe('#/components/schemas/AnimalInput');
    // Examples as each direction sends them (code samples and docs copy them).
    expect(op('create_pet').requestBody!.contents[0]!.examples).toEqual([{ name: 'rex', secret: 's3', owner: { name: 'ann' }, tags: [{ label: 'good' }] }]);
    expect(schema('PetInput').examples).toEqual([{ name: 'rex', secret: 's3', owner: { name: 'ann' } }]);
    expect(schema('Pet').examples).toEqual([{ id: 7, name: 'rex', owner: { id: 'o1', name: 'ann' } }]);
  });
});

describe('the generated code by direction', () => {
  const dir = scratchDir('read-write-only');
  let server: Server;
  let base: string;
  const mismatches: { operationId: string; issues: unknown }[] = [];
  let answerWithSecret = false;
  let validators: Obj;

  beforeAll(async () => {
    await generateInto(SPEC, dir);
    const routes = await import(pathToFileURL(path.join(dir, 'routes.gen.ts')).href);
    validators = (await import(pathToFileURL(path.join(dir, 'validators.gen.ts')).href)).operationValidators;
    let next = 1;
    const handlers = {
      pets: {
        list_pets: async () => ({ status: 200, body: [] }),
        create_pet: async (input: { body: Obj }) => {
          const { secret, ...rest } = input.body;
          return { status: 201, body: { ...rest, id: next++, owner: { ...(rest.owner as Obj), id: 'o1' }, ...(answerWithSecret ? { secret } : {}) } };
        },
        create_animal: async (input: { body: Obj }) => ({ status: 201, body: { ...input.body, id: next++ } }),
        create_note: async () => ({ status: 204 }),
      },
    };
    const runtime = createRuntime<null>({
      context: () => null,
      responseValidation: 'log',
      onResponseMismatch: (operationId, _status, issues) => mismatches.push({ operationId, issues }),
    });
    const app = createApp({ basePath: routes.basePath, mount: (router) => routes.mountRoutes(router, handlers, runtime) });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }, 120_000);
  afterAll(() => server?.close());

  const post = async (p: string, body: unknown) => {
    const r = await fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: r.status === 204 ? null : ((await r.json()) as Obj) };
  };

  it('refuses a readOnly property in a request with a 400 naming it, and accepts the request without it', async () => {
    const pet = { name: 'rex', secret: 's3', owner: { name: 'ann' } };
    const refused = await post('/pets', { ...pet, id: 5 });
    expect(refused.status).toBe(400);
    expect((refused.body!.error as Obj).issues).toEqual({
      body: [expect.objectContaining({ path: ['id'], message: 'read-only: the server sets it, leave it out of the request' })],
    });
    const nested = await post('/pets', { ...pet, owner: { name: 'ann', id: 'x' } });
    expect(nested.status).toBe(400);
    expect(JSON.stringify(nested.body)).toContain('"path":["owner","id"]');
    const created = await post('/pets', pet);
    expect(created).toEqual({ status: 201, body: { name: 'rex', owner: { name: 'ann', id: 'o1' }, id: 1 } });
    // Through a discriminated oneOf and an allOf, and in a schema only requests use.
    expect((await post('/animals', { kind: 'Cat', lives: 9 })).status).toBe(201);
    expect((await post('/animals', { kind: 'Dog', bark: true })).status).toBe(201);
    expect((await post('/animals', { kind: 'Dog', bark: true, id: 3 })).status).toBe(400);
    expect((await post('/notes', { text: 'hi' })).status).toBe(204);
    expect((await post('/notes', { text: 'hi', id: 1 })).status).toBe(400);
    expect(mismatches).toEqual([]);
  });

  it('flags a writeOnly property in a response', async () => {
    answerWithSecret = true;
    try {
      expect((await post('/pets', { name: 'rex', secret: 's3', owner: { name: 'ann' } })).status).toBe(201);
    } finally {
      answerWithSecret = false;
    }
    expect(mismatches).toEqual([
      { operationId: 'create_pet', issues: [expect.objectContaining({ path: ['secret'], message: 'write-only: a response must not include it' })] },
    ]);
    mismatches.length = 0;
    const responses = (validators.create_pet as { responses: { [s: string]: { safeParse(v: unknown): { success: boolean } } } }).responses;
    expect(responses['201']!.safeParse({ id: 1, name: 'rex', owner: { id: 'o', name: 'ann' } }).success).toBe(true);
  });

  it('gives the TS client request types without readOnly fields, checked under strict options', { timeout: 120_000 }, async () => {
    writeFileSync(
      path.join(dir, 'consumer.ts'),
      [
        "import { Kennel } from './sdk.gen.js';",
        "import type { Pet, PetInput } from './types.gen.js';",
        'export async function use(client: Kennel): Promise<number> {',
        "  const pet: Pet = await client.pets.create({ name: 'rex', secret: 's3', owner: { name: 'ann' } });",
        "  // @ts-expect-error a request may not carry the readOnly id",
        "  await client.pets.create({ id: 1, name: 'rex', secret: 's3', owner: { name: 'ann' } });",
        "  const input: PetInput = { name: 'a', secret: 'b', owner: { name: 'c' } };",
        '  // @ts-expect-error a response never carries the writeOnly secret',
        "  const leaked: string = pet.secret;",
        '  void leaked;',
        '  return pet.id + input.name.length;',
        '}',
        '',
      ].join('\n'),
    );
    const checked = typecheck([dir], 'read-write-only', { exactOptionalPropertyTypes: true, noUnusedLocals: true, lib: ['ES2023', 'DOM'] });
    expect(checked.output).toBe('');
    expect(checked.ok).toBe(true);
    const { Kennel } = await import(pathToFileURL(path.join(dir, 'sdk.gen.ts')).href);
    const client = new Kennel({ baseUrl: base, maxRetries: 0 });
    expect(await client.pets.create({ name: 'rex', secret: 's3', owner: { name: 'ann' } })).toMatchObject({ name: 'rex', id: expect.any(Number) });
  });

  it('keeps readOnly fields out of MCP tool input schemas and Python request types', async () => {
    const { mcpTools } = await import(pathToFileURL(path.join(dir, 'mcp.gen.ts')).href);
    const schema = mcpTools.find((t: { name: string }) => t.name === 'create_pet').inputSchema;
    expect(Object.keys(schema.properties)).toEqual(['name', 'secret', 'owner', 'tags']);
    expect(schema.required).toEqual(['name', 'secret', 'owner']);
    expect(schema.properties.owner.required).toEqual(['name']);
    expect(Object.keys(schema.properties.owner.properties)).toEqual(['name']);
    const py = readFileSync(path.join(dir, 'packages/python/src/kennel/types.py'), 'utf8');
    expect(py).toContain('class PetInput(TypedDict):\n    name: str\n    secret: str\n    owner: OwnerInput\n');
    expect(py).toMatch(/class Pet\(TypedDict\):\n {4}id: int\n[^]*?\n {4}name: str\n {4}owner: Owner\n/);
    expect(py).toContain('class Note(TypedDict):\n    text: str\n');
    const resources = readFileSync(path.join(dir, 'packages/python/src/kennel/_resources.py'), 'utf8');
    expect(resources).toContain('def create_note(self, *, text: str,');
  });
});
