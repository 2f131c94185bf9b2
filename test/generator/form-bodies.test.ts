/**
 * `application/x-www-form-urlencoded` bodies end to end (test/fixtures/specs/form-bodies.yaml):
 * generated into a scratch dir, served by the framework runtime on a real listener, driven by the
 * generated TypeScript and Python SDKs and by raw requests. Before, the runtime handed such a body
 * to the handler as the request stream, unvalidated (`age=x` for an integer went through), and the
 * SDKs sent an object as one JSON text whatever its `encoding` said.
 */
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintSpec } from '../../generator/lint.js';
import { createApp, createRuntime } from '../../packages/framework/src/index.js';
import { SPECS, generateInto, runPython, scratchDir, typecheck } from './helpers.js';

const SPEC = `${SPECS}/form-bodies.yaml`;
const FORM = 'application/x-www-form-urlencoded';

/** What the generated SDKs and a Stripe-style client send for one customer, and what the handler must get. */
const CUSTOMER = {
  email: 'a+b@example.com', age: 42, score: -1.5e2, vip: true, tags: ['x', 'y & z'], counts: [1, 0, -3],
  metadata: { order: 'A=1&B=2', 'ünï': 'çødé' },
  address: { line1: '1 Main St', geo: { lat: 51.5, lng: -0.12 } },
  items: [{ price: 'price_1', quantity: 2 }, { price: 'price_2' }],
  preferences: { theme: 'dark', sizes: [1, 2] },
};

describe('form bodies', () => {
  const dir = scratchDir('form-bodies');
  const out = path.join(dir, 'out');
  const seen: unknown[] = [];
  let server: Server;
  let base: string;

  beforeAll(async () => {
    await generateInto(SPEC, out, { packages: path.join(dir, 'packages') });
    const routes = await import(pathToFileURL(path.join(out, 'routes.gen.ts')).href);
    const echo = async (input: { body: unknown }) => {
      seen.push(input.body);
      if (input.body instanceof Readable) input.body.resume();
      return { status: 200, body: input.body };
    };
    const none = async (input: { body: unknown }) => (await echo(input), { status: 204 });
    const handlers = { default: { createCustomer: echo, createCall: echo, createPet: echo, uploadNote: none, createOrder: none, shout: echo } };
    // A small limit, so that "over the limit" costs a few KB.
    const runtime = createRuntime<null>({ context: () => null, jsonBodyLimit: 32 * 1024 });
    server = createApp({ basePath: routes.basePath, mount: (router) => routes.mountRoutes(router, handlers, runtime) }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${routes.basePath}`;
  }, 120_000);
  afterAll(() => server?.close());

  const post = (p: string, body: string | Uint8Array<ArrayBuffer>, type = FORM) =>
    fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': type }, body });

  it('lint: no unparsed-body warning for forms; a list of objects without deepObject is named by its pointer', async () => {
    const findings = (await lintSpec(SPEC, { spectral: false })).filter((f) => f.rule === 'lavendly/unparsed-request-body' || f.rule === 'lavendly/form-body-field');
    expect(findings.map((f) => [f.rule, f.pointer])).toEqual([
      ['lavendly/unparsed-request-body', '#/paths/~1uploads/post/requestBody/content/multipart~1form-data'],
      ['lavendly/form-body-field', '#/paths/~1orders/post/requestBody/content/application~1x-www-form-urlencoded/schema/properties/lines'],
    ]);
  });

  it('the generated TypeScript SDK sends what the server decodes back to the same object', async () => {
    const { Forms } = await import(pathToFileURL(path.join(out, 'sdk.gen.ts')).href);
    const c = new Forms({ apiKey: 'k', baseUrl: base, maxRetries: 0 });
    expect(await c.default.createCustomer(CUSTOMER)).toEqual(CUSTOMER);
    expect(seen.pop()).toEqual(CUSTOMER);
    const call = { To: '+15550100', Timeout: 30, Record: false, StatusCallbackEvent: ['initiated', 'completed'] };
    expect(await c.default.createCall(call)).toEqual(call);
    // An array of one is still a list; an empty list is no key at all, so the field is absent.
    expect(await c.default.createCall({ To: 'x', StatusCallbackEvent: ['ringing'] })).toEqual({ To: 'x', StatusCallbackEvent: ['ringing'] });
    expect(await c.default.createCall({ To: 'x', StatusCallbackEvent: [] })).toEqual({ To: 'x' });
  });

  it('decodes Stripe-style brackets and Twilio-style repeated keys sent by hand', async () => {
    const body = [
      'email=a%2Bb%40example.com', 'age=42', 'score=-1.5e2', 'vip=true', 'tags[]=x', 'tags[]=y+%26+z', 'counts=1', 'counts=0', 'counts=-3',
      'metadata[order]=A%3D1%26B%3D2', `metadata[${encodeURIComponent('ünï')}]=${encodeURIComponent('çødé')}`,
      'address[line1]=1+Main+St', 'address[geo][lat]=51.5', 'address[geo][lng]=-0.12',
      'items[1][price]=price_2', 'items[0][price]=price_1', 'items[0][quantity]=2',
      `preferences=${encodeURIComponent('{"theme":"dark","sizes":[1,2]}')}`,
    ].join('&');
    const r = await post('/customers', body);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual(CUSTOMER);
    // The same schema as JSON or as a form: one validator, one typed object.
    expect(await (await post('/pets', 'name=Rex&age=3')).json()).toEqual({ name: 'Rex', age: 3 });
    expect(await (await post('/pets', '{"name":"Rex","age":3}', 'application/json')).json()).toEqual({ name: 'Rex', age: 3 });
    // A type declared in capitals is the same type: decoded by its plan, checked by its own schema.
    expect(await (await post('/shout', 'n=2')).json()).toEqual({ n: 2 });
    expect((await post('/shout', 'n=x')).status).toBe(400);
    // A list of objects without deepObject: each item one JSON text, as the SDKs send them.
    expect((await post('/orders', `lines=${encodeURIComponent('{"sku":"a"}')}&lines=${encodeURIComponent('{"sku":"b"}')}`)).status).toBe(204);
    expect(seen.pop()).toEqual({ lines: [{ sku: 'a' }, { sku: 'b' }] });
  });

  it.each([
    ['an integer that is not one', 'email=a&age=x', 'invalid_type', ['age']],
    ['an empty integer', 'email=a&age=', 'invalid_type', ['age']],
    ['a number in hex', 'email=a&age=1&score=0x10', 'invalid_type', ['score']],
    ['a boolean spelled otherwise', 'email=a&age=1&vip=yes', 'invalid_type', ['vip']],
    ['a list item that is no integer', 'email=a&age=1&counts=1&counts=b', 'invalid_type', ['counts', 1]],
    ['a key sent twice', 'email=a&email=b&age=1', 'duplicate_key', ['email']],
    ['a nested key sent twice', 'email=a&age=1&address[city]=x&address[city]=y', 'duplicate_key', ['address', 'city']],
    ['an unknown key', 'email=a&age=1&admin=true', 'unrecognized_keys', ['admin']],
    ['an unknown nested key', 'email=a&age=1&address[zip]=1', 'unrecognized_keys', ['address', 'zip']],
    ['bad percent-encoding', 'email=a%zz&age=1', 'invalid_encoding', ['email']],
    ['percent-encoded bytes that are not UTF-8', 'email=%FF&age=1', 'invalid_encoding', ['email']],
    ['__proto__ at the top', 'email=a&age=1&__proto__[polluted]=1', 'forbidden_key', ['__proto__']],
    ['__proto__ under an open object', 'email=a&age=1&metadata[__proto__][polluted]=1', 'forbidden_key', ['metadata', '__proto__']],
    ['constructor under an open object', 'email=a&age=1&metadata[constructor]=x', 'forbidden_key', ['metadata', 'constructor']],
    ['constructor.prototype at the top', 'email=a&age=1&constructor[prototype][polluted]=1', 'forbidden_key', ['constructor']],
    ['a deepObject field sent plain', 'email=a&age=1&address=x', 'invalid_type', ['address']],
    ['brackets on a scalar', 'email[x]=a&age=1', 'invalid_type', ['email']],
    ['malformed brackets', 'email=a&age=1&address[line1=x', 'invalid_key', []],
    ['nesting past the bound', `email=a&age=1&address${'[a]'.repeat(9)}=x`, 'too_deep', ['address']],
    ['list indexes with a gap', 'email=a&age=1&items[1][price]=p', 'invalid_key', ['items']],
    ['indexed and unindexed items mixed', 'email=a&age=1&tags[0]=a&tags=b', 'invalid_key', ['tags']],
    ['a list of objects sent without an index', 'email=a&age=1&items=p', 'invalid_type', ['items']],
    ['a huge index', 'email=a&age=1&items[99999999999][price]=p', 'invalid_key', ['items']],
    ['a JSON property that is not JSON', 'email=a&age=1&preferences=%7B', 'invalid_json', ['preferences']],
    ['a value the schema refuses', 'email=a&age=151', 'too_big', ['age']],
    ['a required field missing', 'age=1', 'invalid_type', ['email']],
    ['a NUL character', 'email=a%00b&age=1', 'invalid_text', ['email']],
  ])('refuses %s with a 400 naming the field', async (_what, body, code, where) => {
    const r = await post('/customers', body);
    expect(r.status).toBe(400);
    const json = await r.json();
    expect(json.error.code).toBe('validation_error');
    expect(json.error.issues.body).toContainEqual(expect.objectContaining({ code, path: where }));
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('refuses more pairs than the bound, a wrong charset, invalid UTF-8 and a body over the limit', async () => {
    // 10,001 pairs of two bytes: under the byte limit, over the pair bound.
    const tooMany = await post('/calls', 'a&'.repeat(10_001));
    expect(tooMany.status).toBe(400);
    expect((await tooMany.json()).error.issues.body).toContainEqual(expect.objectContaining({ code: 'too_many_keys' }));
    const latin1 = await post('/calls', 'To=x', `${FORM}; charset=iso-8859-1`);
    expect(latin1.status).toBe(415);
    expect((await latin1.json()).error.code).toBe('unsupported_media_type');
    expect((await post('/calls', 'To=x', `${FORM}; charset=UTF-8`)).status).toBe(200);
    const bytes = await post('/calls', new Uint8Array([0x54, 0x6f, 0x3d, 0xff]));
    expect(bytes.status).toBe(400);
    expect((await bytes.json()).error.issues.body[0].code).toBe('invalid_encoding');
    const big = await post('/calls', `To=${'x'.repeat(40_000)}`);
    expect(big.status).toBe(413);
    // Multipart is still the handler's to parse: a stream.
    const form = new FormData();
    form.append('note', 'hi');
    expect((await fetch(`${base}/uploads`, { method: 'POST', body: form })).status).toBe(204);
    expect(seen.pop()).toBeInstanceOf(Readable);
  });

  it('types the handler input as the decoded object under a strict consumer tsconfig', () => {
    writeFileSync(path.join(out, 'consumer.ts'), [
      "import { Readable } from 'node:stream';",
      "import type * as T from './types.gen.js';",
      'export const call: T.CreateCallInput["body"] = { To: "x", Timeout: 3, StatusCallbackEvent: ["ringing"] };',
      'export const pet: T.CreatePetInput["body"] = { name: "Rex" };',
      'export const upload: T.UploadNoteInput["body"] = Readable.from([]);',
      '// @ts-expect-error a form body is decoded, never a stream',
      'export const notStreamed: T.CreateCallInput["body"] = Readable.from([]);',
    ].join('\n'));
    const { ok, output } = typecheck([out], 'form-bodies', { exactOptionalPropertyTypes: true, noUnusedLocals: true, noPropertyAccessFromIndexSignature: true, lib: ['ES2023', 'DOM'] });
    expect(output).toBe('');
    expect(ok).toBe(true);
  }, 120_000);

  it('the generated Python SDK sends deepObject brackets and JSON the server decodes back', async () => {
    const src = path.join(dir, 'packages', 'python', 'src');
    const script = [
      'import json, sys',
      'from forms import Forms',
      'c = Forms(api_key="k", base_url=sys.argv[1], max_retries=0)',
      'print(json.dumps(c.default.create_customer(**json.loads(sys.argv[2]))))',
    ].join('\n');
    const { status, stdout, stderr } = await runPython(src, script, [base, JSON.stringify(CUSTOMER)]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual(CUSTOMER);
    expect(seen.pop()).toEqual(CUSTOMER);
  }, 60_000);
});
