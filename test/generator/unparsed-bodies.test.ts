/**
 * Request bodies the server runtime does not parse (multipart, XML, text): the runtime hands the
 * handler the request stream, unvalidated (runtime/body.ts). The generated types used to promise
 * the schema's object instead (Swagger petstore3's JSON-or-multipart `/pet`), so a handler read
 * `input.body.name` off an IncomingMessage. Now the input type says Readable and the lint warns,
 * naming each such content type. Forms of an object schema are decoded and validated instead
 * (runtime/form.ts; test/generator/form-bodies.test.ts): `age=x` for an integer is a 400.
 */
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { structuralFindings } from '../../generator/lint.js';
import { createApp, createRuntime } from '../../packages/framework/src/index.js';
import { generateInto, scratchDir, typecheck } from './helpers.js';

const form = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } } };
const ok = { 204: { description: 'stored' } };
const SPEC = {
  openapi: '3.0.3',
  info: { title: 'bodies', version: '1' },
  paths: {
    '/calls': { post: { operationId: 'createCall', requestBody: { $ref: '#/components/requestBodies/Call' }, responses: ok } },
    '/pets': {
      post: {
        operationId: 'createPet',
        requestBody: { required: true, content: { 'application/json': { schema: form }, 'multipart/form-data': { schema: form } } },
        responses: ok,
      },
    },
    '/photos': { put: { operationId: 'putPhoto', requestBody: { content: { 'application/octet-stream': {} } }, responses: ok } },
    '/notes': { post: { operationId: 'postNote', requestBody: { required: true, content: { 'application/merge-patch+json': { schema: form } } }, responses: ok } },
  },
  components: { requestBodies: { Call: { required: true, content: { 'application/x-www-form-urlencoded': { schema: form } } } } },
};

describe('request bodies the runtime does not parse', () => {
  it('are named by a lint warning with their pointer; JSON, forms and uploads are not', () => {
    const found = structuralFindings(JSON.parse(JSON.stringify(SPEC))).filter((f) => f.rule === 'lavendly/unparsed-request-body');
    expect(found.map((f) => [f.severity, f.pointer])).toEqual([
      ['warning', '#/paths/~1pets/post/requestBody/content/multipart~1form-data'],
    ]);
    expect(found[0]!.message).toContain('request stream');
  });

  describe('served by the runtime', () => {
    const dir = scratchDir('unparsed-bodies');
    const seen: unknown[] = [];
    let server: Server;
    let base: string;
    beforeAll(async () => {
      const file = path.join(dir, 'spec.json');
      writeFileSync(file, JSON.stringify(SPEC));
      await generateInto(path.relative(process.cwd(), file), path.join(dir, 'out'), { only: ['types', 'validators', 'routes', 'handlers'] });
      const routes = await import(pathToFileURL(path.join(dir, 'out', 'routes.gen.ts')).href);
      const keep = async (input: { body: unknown }) => {
        seen.push(input.body);
        if (input.body instanceof Readable) input.body.resume();
        return { status: 204 };
      };
      const handlers = { default: { createCall: keep, createPet: keep, putPhoto: keep, postNote: keep } };
      const runtime = createRuntime<null>({ context: () => null });
      server = createApp({ basePath: routes.basePath, mount: (router) => routes.mountRoutes(router, handlers, runtime) }).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${routes.basePath}`;
    }, 120_000);
    afterAll(() => server?.close());

    it('hand the handler a stream, and the generated input types say so; a form is decoded and checked', async () => {
      const post = (p: string, type: string, body: string) => fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': type }, body });
      expect((await post('/calls', 'application/x-www-form-urlencoded', 'name=a&age=x')).status).toBe(400);
      expect((await post('/calls', 'application/x-www-form-urlencoded', 'name=a&age=3')).status).toBe(204);
      expect(seen.pop()).toEqual({ name: 'a', age: 3 });
      expect((await post('/pets', 'multipart/form-data; boundary=b', '--b--\r\n')).status).toBe(204);
      expect(seen.pop()).toBeInstanceOf(Readable);
      expect((await post('/pets', 'application/json', '{"name":"a","age":"x"}')).status).toBe(400);
      expect((await post('/pets', 'application/json', '{"name":"a","age":3}')).status).toBe(204);
      expect(seen.pop()).toEqual({ name: 'a', age: 3 });

      // What the runtime passes must be assignable to what the handler is told it gets.
      writeFileSync(path.join(dir, 'out', 'consumer.ts'), [
        "import { Readable } from 'node:stream';",
        "import type * as T from './types.gen.js';",
        'export const call: T.CreateCallInput["body"] = { name: "a", age: 3 };',
        '// @ts-expect-error a form body is decoded, never a stream',
        'export const callStream: T.CreateCallInput["body"] = Readable.from([]);',
        'export const multipart: T.CreatePetInput["body"] = Readable.from([]);',
        'export const json: T.CreatePetInput["body"] = { name: "a", age: 3 };',
        'export const photo: T.PutPhotoInput["body"] = Readable.from([]);',
        'export const note: T.PostNoteInput["body"] = { name: "a" };',
        '// @ts-expect-error a merge-patch+json body is parsed, never a stream',
        'export const notStreamed: T.PostNoteInput["body"] = Readable.from([]);',
      ].join('\n'));
      const { ok, output } = typecheck([path.join(dir, 'out')], 'unparsed-bodies');
      expect(output).toBe('');
      expect(ok).toBe(true);
    }, 120_000);
  });
});
