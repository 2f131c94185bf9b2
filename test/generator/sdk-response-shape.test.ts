/**
 * The generated TypeScript SDK reading answers that are JSON but not the documented shape, from a
 * local server: a success body that is not the documented object (null, a list, a number, an
 * object without its required keys, JSON nested past 1000 levels) is an InvalidResponseError, as
 * in the Python SDK, instead of being returned typed as the object; an error envelope whose
 * `issues` are not lists does not break `issueList`. The keys checked come from lists the
 * operation descriptors share.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidResponseError, Lavendly, operationDescriptors, ValidationError, type LavendlyError } from '../../generated/sdk.gen.js';

/** Every key the spec requires of a Workflow. */
const WORKFLOW = {
  id: 'wf_1', name: 'Fox', description: null, aspect_ratio: '9:16', version: 1, scenes: [], nodes: [], edges: [],
  created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
};

let server: Server;
let answer = { status: 200, body: '{}' };
beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(answer.status, { 'content-type': 'application/json', 'x-request-id': 'req_shape' }).end(answer.body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const client = () => new Lavendly({ apiKey: 'k', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, maxRetries: 0 });
const failure = (p: Promise<unknown>) => p.then((v) => { throw new Error(`resolved with ${JSON.stringify(v)}`); }, (e: unknown) => e as LavendlyError);

describe('a JSON success answer that is not the documented object', () => {
  it('is refused with a typed error saying what came instead', async () => {
    const cases: [string, RegExp][] = [
      ['null', /answered null where the API documents an object/],
      ['[]', /answered a JSON array where the API documents an object/],
      ['1e300', /answered a JSON number where the API documents an object/],
      ['"wf_1"', /answered a JSON string where the API documents an object/],
      ['{}', /answered an object without 'id', 'name', .*which the API documents/],
      [JSON.stringify({ ...WORKFLOW, id: undefined }), /answered an object without 'id', which the API documents/],
      // Nested past 1000 levels: read as text, as the Python SDK does (JSON.stringify of it overflows the stack).
      [JSON.stringify(WORKFLOW).replace('"nodes":[]', `"nodes":${'['.repeat(100_000)}${']'.repeat(100_000)}`), /answered a body that is not JSON/],
    ];
    for (const [body, message] of cases) {
      answer = { status: 200, body };
      const err = await failure(client().workflows.get({ id: 'wf_1' }));
      expect(err, body.slice(0, 20)).toBeInstanceOf(InvalidResponseError);
      expect([err.status, err.code, err.requestId]).toEqual([200, 'invalid_response', 'req_shape']);
      expect(err.message, body.slice(0, 20)).toMatch(message);
    }
    // 1000 levels, brackets in strings not counted, still parse.
    const deepest = JSON.stringify(WORKFLOW).replace('"nodes":[]', `"nodes":${'['.repeat(999)}${']'.repeat(999)},"s":"${'['.repeat(5_000)}"`);
    answer = { status: 200, body: deepest };
    expect((await client().workflows.get({ id: 'wf_1' })).id).toBe('wf_1');
    // A page is an object too.
    answer = { status: 200, body: '[]' };
    expect(await failure(client().workflows.list().then((p) => p))).toBeInstanceOf(InvalidResponseError);
  });

  it('is checked against lists the descriptors share: each distinct list is written once', () => {
    // Before: 45 lists for 29 distinct ones (every operation answering a Workflow had its own copy).
    const lists = Object.values(operationDescriptors).flatMap((d) => (d.responseKeys ? [d.responseKeys] : []));
    const distinct = new Set(lists.map((l) => JSON.stringify(l)));
    expect(lists.length).toBeGreaterThan(distinct.size);
    expect(new Set(lists).size).toBe(distinct.size);
    expect(operationDescriptors['get_workflow']!.responseKeys).toBe(operationDescriptors['create_workflow']!.responseKeys);
  });
});

describe('an error envelope whose issues are not lists', () => {
  it('lists the issues it can and ignores the rest', async () => {
    answer = {
      status: 400,
      body: '{"error":{"code":"validation_error","message":"bad","issues":{"constructor":"x","__proto__":{"a":1},"body":[{"path":["name"],"message":"required"}]}}}',
    };
    const err = await failure(client().workflows.get({ id: 'wf_1' }));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issueList).toEqual([{ path: ['name'], message: 'required', location: 'body' }]);
  });
});
