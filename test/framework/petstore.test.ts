/**
 * examples/petstore, the framework's second app: generated from its own spec by the framework's
 * CLI, with hand-written handlers and a few lines of glue. Its generated SDK is run against a
 * Prism mock of the spec, and against the real server behind `prism proxy --errors` (any answer
 * off the spec becomes a 500 there, and the SDK call fails).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../generator/program.js';
import { NotFoundError, Petstore } from '../../examples/petstore/generated/sdk.gen.js';
import { petstoreApp } from '../../examples/petstore/src/app.js';
import { startPrism, type PrismProcess } from '../helpers/prism.js';

const SPEC = 'examples/petstore/openapi.yaml';

describe('examples/petstore', () => {
  let server: Server;
  let origin = '';
  let mock: PrismProcess;
  let proxy: PrismProcess;

  beforeAll(async () => {
    server = petstoreApp().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    [mock, proxy] = await Promise.all([startPrism({ mock: true }, { spec: SPEC }), startPrism({ proxy: `${origin}/v1` }, { spec: SPEC })]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([mock?.stop(), proxy?.stop()]);
    await new Promise((r) => server?.close(r));
  });

  it('its generated files are what the framework CLI makes from its spec', { timeout: 120_000 }, async () => {
    expect(await runCli(['check', '--config', 'examples/petstore/lavendly.config.json', '--no-spectral'])).toBe(0);
  });

  it('routes a path however its characters were percent-encoded', async () => {
    for (const path of ['/v1/pets', '/v1/%70ets', '/v1/pe%74s']) {
      const res = await fetch(`${origin}${path}?limit=1`);
      expect(res.status, path).toBe(200);
      expect((await res.json()).data).toEqual(expect.any(Array));
    }
  });

  it('the SDK works against a Prism mock of the spec', { timeout: 60_000 }, async () => {
    const client = new Petstore({ baseUrl: mock.url, maxRetries: 0 });
    const pet = await client.pets.get({ petId: 'pet_1' });
    expect(pet).toMatchObject({ id: expect.any(String), name: expect.any(String) });
    expect(['cat', 'dog', 'rabbit']).toContain(pet.species);
    const created = await client.pets.create({ name: 'Rex', species: 'dog' });
    expect(typeof created.id).toBe('string');
    // The mock refuses a request off the spec, with the 400 the spec declares.
    const refused = await client.pets.create({ name: 'Nemo', species: 'fish' as 'cat' }).then(() => null, (e: unknown) => e as { status?: number });
    expect(refused?.status).toBe(400);
  });

  it('the server behind `prism proxy --errors`: create, page through, get, delete, 404 in the envelope', { timeout: 60_000 }, async () => {
    const client = new Petstore({ baseUrl: proxy.url, maxRetries: 0 });
    const made = [];
    for (const [name, species] of [['Tom', 'cat'], ['Rex', 'dog'], ['Bun', 'rabbit']] as const) made.push(await client.pets.create({ name, species }));
    const first = await client.pets.list({ limit: 2 });
    expect(first.data.map((p) => p.name)).toEqual(['Tom', 'Rex']);
    expect(first.has_more).toBe(true);
    const all = [];
    for await (const p of client.pets.list({ limit: 2 })) all.push(p.id);
    expect(all).toEqual(made.map((p) => p.id));
    expect(await client.pets.get({ petId: made[1]!.id })).toEqual(made[1]);
    await client.pets.delete({ petId: made[1]!.id });
    const gone = await client.pets.get({ petId: made[1]!.id }).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect((gone as NotFoundError).status).toBe(404);
    expect(proxy.output()).not.toMatch(/Violation: response/i);
  });

  it('the server itself answers a bad body with 400 in the envelope, naming each field', { timeout: 30_000 }, async () => {
    const res = await fetch(`${origin}/v1/pets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '', species: 'fish', extra: 1 }) });
    expect(res.status).toBe(400);
    const body = await res.json() as { error: { code: string; issues: { body: { path: string[] }[] } } };
    expect(body.error.code).toBe('validation_error');
    expect(body.error.issues.body.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['name', 'species']));
    const tampered = await fetch(`${origin}/v1/pets?cursor=abc.def`);
    expect(tampered.status).toBe(400);
    expect((await tampered.json() as { error: { code: string } }).error.code).toBe('invalid_cursor');
  });
});
