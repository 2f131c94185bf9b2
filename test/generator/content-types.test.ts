/**
 * Request and response content types as other API teams declare them (test/fixtures/specs/
 * content-types.yaml): with parameters (`application/json; charset=utf-8`), in capitals
 * (`Application/X-WWW-Form-Urlencoded`), as wildcards (`application/*`, `*\/*`); and a security
 * scheme named `__proto__`. Generated into a scratch dir, served by the framework runtime on a real
 * listener, driven by the generated TypeScript and Python SDKs and by raw requests. Before, a
 * declared type with parameters answered every request 415 (and a form so declared had no plan),
 * the SDKs sent JSON where a form declared in capitals was expected, the `__proto__` scheme
 * vanished from both SDKs' scheme tables (its key sent to no one), the Python SDK read a
 * response labelled `Application/JSON` as bytes, and the generated code did not compile where a
 * scheme or form field is named `constructor` or `toString`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintSpec } from '../../generator/lint.js';
import { createApp, createRuntime } from '../../packages/framework/src/index.js';
import { SPECS, STRICTEST, generateInto, runPython, scratchDir, typecheck } from './helpers.js';

const SPEC = `${SPECS}/content-types.yaml`;
const PET = { name: 'Rex', age: 3 };

/** What a handler got: the body (a Readable as the string 'stream'), its content type and the scheme keys. */
interface Seen {
  body: unknown;
  type: string | undefined;
  protoKey: string | undefined;
  ctorKey: string | undefined;
}

describe('declared content types with parameters, capitals, wildcards', () => {
  const dir = scratchDir('content-types');
  const out = path.join(dir, 'out');
  const seen: Seen[] = [];
  let server: Server;
  let foreign: Server;
  let base: string;
  let foreignBase: string;

  beforeAll(async () => {
    await generateInto(SPEC, out, { packages: path.join(dir, 'packages') });
    const routes = await import(pathToFileURL(path.join(out, 'routes.gen.ts')).href);
    const echo = async (input: { body: unknown }, headers: Koa.Context['headers']) => {
      const streamed = input.body instanceof Readable;
      if (streamed) (input.body as Readable).resume();
      seen.push({
        body: streamed ? 'stream' : input.body, type: headers['content-type'],
        protoKey: headers['x-proto-key'] as string | undefined, ctorKey: headers['x-ctor-key'] as string | undefined,
      });
      return { status: 200, body: streamed ? { streamed: true } : input.body };
    };
    const handlers = {
      proto__: { jsonCharset: echo },
      constructor: { formCharset: echo },
      default: { jsonCaps: echo, formCaps: echo, anyApplication: echo, anyType: echo, proto__: echo },
    };
    // Answers are checked against the spec: the declared response types' parameters change nothing.
    const runtime = createRuntime<Koa.Context['headers']>({ context: (ctx) => ctx.headers, responseValidation: 'throw' });
    server = createApp({ basePath: routes.basePath, mount: (router) => routes.mountRoutes(router, handlers, runtime) }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${routes.basePath}`;
    // Another team's server, which labels its JSON in capitals (as RFC 9110 allows).
    foreign = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'Application/JSON; Charset=UTF-8' }).end(JSON.stringify(PET));
    }).listen(0, '127.0.0.1');
    await new Promise((r) => foreign.once('listening', r));
    foreignBase = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}/v1`;
  }, 120_000);
  afterAll(() => {
    server?.close();
    foreign?.close();
  });

  const post = (p: string, body: string, type: string) => fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': type }, body });

  it('the server matches a request by the declared type/subtype, whatever its parameters and case', async () => {
    for (const [p, type] of [['/json-charset', 'application/json'], ['/json-charset', 'application/json; charset=UTF-8'], ['/json-caps', 'application/json']]) {
      const r = await post(p!, '{"name":"Rex","age":3}', type!);
      expect([p, r.status]).toEqual([p, 200]);
      expect(await r.json()).toEqual(PET);
    }
    // A form declared with a charset or in capitals has its plan: decoded, coerced and checked.
    for (const p of ['/form-charset', '/form-caps']) {
      const r = await post(p, 'name=Rex&age=3', 'application/x-www-form-urlencoded');
      expect([p, r.status]).toEqual([p, 200]);
      expect(await r.json()).toEqual(PET);
      const bad = await post(p, 'name=Rex&age=x', 'application/x-www-form-urlencoded');
      expect(bad.status).toBe(400);
      expect((await bad.json()).error.issues.body).toContainEqual(expect.objectContaining({ code: 'invalid_type', path: ['age'] }));
    }
    // Still checked: the body against its schema, a JSON or form charset other than UTF-8, another type.
    expect((await post('/json-charset', '{"name":""}', 'application/json')).status).toBe(400);
    expect((await post('/json-charset', '{"name":"Rex"}', 'application/json; charset=iso-8859-1')).status).toBe(415);
    expect((await post('/form-charset', 'name=Rex', 'application/x-www-form-urlencoded; charset=iso-8859-1')).status).toBe(415);
    expect((await post('/form-charset', '{"name":"Rex"}', 'application/json')).status).toBe(415);
  });

  it('the TypeScript SDK encodes by the declared type whatever its case and parameters, and sends it as declared', async () => {
    const { Ctypes } = await import(pathToFileURL(path.join(out, 'sdk.gen.ts')).href);
    const c = new Ctypes({ baseUrl: base, maxRetries: 0, credentials: { ['__proto__']: 'pk_1', constructor: 'ck_1' } });
    seen.length = 0;
    expect(await c.proto.jsonCharset(PET)).toEqual(PET);
    expect(await c.constructor2.formCharset(PET)).toEqual(PET);
    expect(await c.default.jsonCaps(PET)).toEqual(PET);
    expect(await c.default.formCaps(PET)).toEqual(PET);
    expect(await c.default.anyApplication({ body: PET })).toEqual(PET);
    expect(await c.default.anyType({ body: PET })).toEqual(PET);
    expect(seen.map((s) => [s.type, s.body])).toEqual([
      ['application/json; charset=utf-8', PET],
      ['application/x-www-form-urlencoded; charset=utf-8', PET],
      ['Application/JSON', PET],
      ['Application/X-WWW-Form-Urlencoded', PET],
      ['application/json', PET],
      ['application/json', PET],
    ]);
    // The scheme named `__proto__` is in the table: its key goes with the operations requiring it.
    expect(seen.map((s) => s.protoKey)).toEqual(Array(6).fill('pk_1'));
    expect(await c.default.proto({ constructor: 7 })).toEqual({ constructor: 7 });
    expect(seen.at(-1)).toMatchObject({ protoKey: undefined, ctorKey: 'ck_1' });
    // A JSON response labelled in capitals is JSON.
    const foreignClient = new Ctypes({ baseUrl: foreignBase, maxRetries: 0, credentials: { ['__proto__']: 'pk_1' } });
    expect(await foreignClient.default.jsonCaps(PET)).toEqual(PET);
  });

  it('a wildcard parses and checks JSON; a form under it is the handler\'s stream, as the lint says', async () => {
    expect((await post('/any-application', '{"name":""}', 'application/json')).status).toBe(400);
    seen.length = 0;
    const form = await post('/any-type', 'name=Rex', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(200);
    expect(seen.pop()?.body).toBe('stream');
    const findings = (await lintSpec(SPEC, { spectral: false })).filter((f) => f.rule === 'lavendly/unparsed-request-body');
    expect(findings.map((f) => f.pointer)).toEqual([
      '#/paths/~1any-application/post/requestBody/content/application~1*',
      '#/paths/~1any-type/post/requestBody/content/*~1*',
    ]);
    for (const f of findings) expect(f.message).toMatch(/only when it is JSON.*a form included, reaches the handler as the request stream/);
  });

  it('lint: a form field named __proto__, which no form can carry, is named by its pointer', async () => {
    const findings = (await lintSpec(SPEC, { spectral: false })).filter((f) => f.rule === 'lavendly/form-body-field');
    expect(findings.map((f) => [f.pointer, f.message])).toEqual([[
      '#/paths/~1proto-fields/post/requestBody/content/application~1x-www-form-urlencoded/schema/properties/__proto__',
      expect.stringContaining('a form field named __proto__ can never be sent'),
    ]]);
  });

  it('compiles under the strictest consumer tsconfig with schemes and form fields named constructor, toString, __proto__', () => {
    const { ok, output } = typecheck([out], 'content-types', STRICTEST);
    expect(output).toBe('');
    expect(ok).toBe(true);
  }, 120_000);

  it('the Python SDK encodes by the declared type whatever its case and parameters, and reads JSON labelled in capitals', async () => {
    const src = path.join(dir, 'packages', 'python', 'src');
    const script = [
      'import json, sys',
      'from ctypes_sdk import Ctypes',
      'pet = {"name": "Rex", "age": 3}',
      'c = Ctypes(base_url=sys.argv[1], max_retries=0, credentials={"__proto__": "pk_1", "constructor": "ck_1"})',
      'out = [c.proto.json_charset(**pet), c.constructor.form_charset(**pet), c.default.json_caps(**pet), c.default.form_caps(**pet),',
      '       c.default.any_application(body=pet), c.default.any_type(body=pet)]',
      'f = Ctypes(base_url=sys.argv[2], max_retries=0, credentials={"__proto__": "pk_1"})',
      'out.append(f.default.json_caps(**pet))',
      'print(json.dumps(out))',
    ].join('\n');
    seen.length = 0;
    const { status, stdout, stderr } = await runPython(src, script, [base, foreignBase]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual(Array(7).fill(PET));
    expect(seen.map((s) => [s.type, s.body, s.protoKey])).toEqual([
      ['application/json; charset=utf-8', PET, 'pk_1'],
      ['application/x-www-form-urlencoded; charset=utf-8', PET, 'pk_1'],
      ['Application/JSON', PET, 'pk_1'],
      ['Application/X-WWW-Form-Urlencoded', PET, 'pk_1'],
      ['application/json', PET, 'pk_1'],
      ['application/json', PET, 'pk_1'],
    ]);
  }, 60_000);
});
