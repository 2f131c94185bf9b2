/** The IR builder: normalisation, parameter merging, identifiers, extensions, and errors that name the node. */
import { describe, expect, it } from 'vitest';
import { buildIrFromText, buildIr, SpecError } from '../../generator/ir.js';
import { SPECS } from './helpers.js';

const fromYaml = (yaml: string) => buildIrFromText(yaml, 'inline.yaml', '0'.repeat(64));
const minimal = (paths: string, extra = '') => `openapi: 3.0.3\ninfo: { title: t, version: '1' }\npaths:\n${paths}\n${extra}`;

function errorOf(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

describe('buildIr on the 3.0 feature fixture', async () => {
  const ir = await buildIr(`${SPECS}/feature-3.0.yaml`);
  const op = (id: string) => ir.operations.find((o) => o.operationId === id)!;

  it('reads document facts and the server base path (variables substituted)', () => {
    expect(ir).toMatchObject({ openapiVersion: '3.0.3', title: 'Feature zoo (3.0)', basePath: '/api/v2', serverUrl: 'https://eu.api.example.com/api/v2' });
    expect(ir.specHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('makes valid, unique identifiers and type names', () => {
    expect(op('pets/list-all')).toMatchObject({ identifier: 'pets_list_all', typeName: 'PetsListAll', tag: 'pet-store', tagIdentifier: 'pet_store' });
    expect(op('delete')).toMatchObject({ identifier: 'delete_', typeName: 'Delete' });
    expect(op('get_untagged')).toMatchObject({ tag: 'default', tagIdentifier: 'default' });
    expect(ir.schemas.map((s) => [s.name, s.identifier])).toContainEqual(['200_response', '_200Response']);
    expect(ir.schemas.map((s) => [s.name, s.identifier])).toContainEqual(['pet-owner', 'PetOwner']);
    expect(ir.tags).toEqual(['pet-store', 'misc', 'default']);
  });

  it('merges path-level parameters (the operation wins) and sorts them by location then name', () => {
    const get = op('get-pet');
    expect(get.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(['path:pet-id', 'query:verbose']);
    expect(get.parameters[1]!.schema).toEqual({ type: 'integer', enum: [0, 1, 2] });
    expect(op('delete').parameters[1]!.schema).toEqual({ type: 'boolean' });
    expect(op('pets/list-all').parameters.find((p) => p.name === 'limit')).toMatchObject({ in: 'query', style: 'form', explode: true, required: false });
  });

  it('resolves parameter, request body, response and header refs; keeps component schema refs', () => {
    const create = op('createPet');
    expect(create.requestBody).toMatchObject({ required: true, contents: [{ contentType: 'application/json', schema: { $ref: '#/components/schemas/NewPet' } }] });
    const list = op('pets/list-all');
    expect(list.responses.find((r) => r.status === '200')!.headers).toEqual([{ name: 'X-Rate-Limit', required: true, schema: { type: 'integer' } }]);
    expect(list.responses.find((r) => r.status === 'default')!.contents[0]!.contentType).toBe('application/problem+json');
  });

  it('normalises 3.0 nullable and boolean exclusiveMinimum, inlines nested-pointer refs', () => {
    const schema = (name: string) => ir.schemas.find((s) => s.name === name)!.schema as Record<string, any>;
    expect(schema('pet-owner').anyOf ?? schema('pet-owner').type).toEqual(['object', 'null']);
    expect(schema('Zoo').properties.nullable_enum).toEqual({ type: ['string', 'null'], enum: ['x', 'y', null] });
    expect(schema('Zoo').properties.nullable_ref).toEqual({ anyOf: [{ allOf: [{ $ref: '#/components/schemas/Problem' }] }, { type: 'null' }] });
    expect(schema('Dog').allOf[1].properties.barks).toEqual({ type: 'integer', exclusiveMinimum: 0 });
    expect(schema('FormJson').properties.name).toEqual({ type: 'string', minLength: 1, maxLength: 50 });
  });

  it('orders request content types JSON first', () => {
    expect(op('submitForm').requestBody!.contents.map((c) => c.contentType)).toEqual(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']);
  });

  it('reads the vendor extensions and security', () => {
    expect(op('createPet')).toMatchObject({ idempotent: true, chargesCredits: true, scopes: ['pets:write'], secured: true, pagination: null });
    expect(op('pets/list-all')).toMatchObject({ pagination: 'cursor', idempotent: false });
    expect(op('delete').secured).toBe(false);
  });
});

describe('buildIr on the 3.1 feature fixture', async () => {
  const ir = await buildIr(`${SPECS}/feature-3.1.yaml`);
  it('resolves path item refs and reads x-async-job and x-mcp', () => {
    expect(ir.operations.map((o) => o.operationId)).toEqual(['get_shape', 'put_shape', 'patch_shape', 'post_event', 'get_job']);
    const post = ir.operations.find((o) => o.operationId === 'post_event')!;
    expect(post.asyncJob).toEqual({ poll: 'get_job', args: { job_id: 'id' }, statusField: 'state', terminal: ['done', 'failed'] });
    expect(post.mcpTools).toEqual([{ name: 'send_event', description: '', annotations: { readOnlyHint: false, openWorldHint: true }, exclude: [], require: [], defaults: {} }]);
    expect(ir.basePath).toBe('/v3');
  });
  it('turns a $ref with constraint siblings into allOf', () => {
    expect(ir.schemas.find((s) => s.name === 'Tagged')!.schema).toEqual({ allOf: [{ $ref: '#/components/schemas/Circle' }, { required: ['label'] }] });
  });
});

describe('bad specs name the JSON pointer of the offending node', () => {
  it.each([
    ['not OpenAPI 3', 'swagger: "2.0"\ninfo: { title: t, version: "1" }\npaths: {}', '#/openapi: expected OpenAPI 3.0.x or 3.1.x, found Swagger 2.0'],
    ['responses not an object', minimal('  /pets:\n    get:\n      responses: 42'), '#/paths/~1pets/get/responses: responses must be an object'],
    ['missing responses in 3.0', minimal('  /pets:\n    get: {}'), '#/paths/~1pets/get/responses: an operation needs at least one response'],
    ['bad status key', minimal("  /pets:\n    get:\n      responses:\n        '20': { description: x }"), "#/paths/~1pets/get/responses/20: \"20\" is not a status code"],
    ['unresolved schema ref', minimal("  /pets:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: { $ref: '#/components/schemas/Nope' }"), '#/paths/~1pets/get/responses/200/content/application~1json/schema/$ref: $ref "#/components/schemas/Nope" does not resolve'],
    ['external ref', minimal("  /pets:\n    get:\n      parameters:\n        - $ref: 'other.yaml#/p'\n      responses: { default: { description: x } }"), '#/paths/~1pets/get/parameters/0/$ref: external $ref "other.yaml#/p" is not supported'],
    ['bad parameter location', minimal("  /pets:\n    get:\n      parameters:\n        - { name: a, in: body }\n      responses: { default: { description: x } }"), '#/paths/~1pets/get/parameters/0/in: must be one of path, query, header, cookie'],
    ['cookie parameter', minimal("  /pets:\n    get:\n      parameters:\n        - { name: session, in: cookie, required: true }\n      responses: { default: { description: x } }"), '#/paths/~1pets/get/parameters/0/in: cookie parameters are not supported ("session")'],
    ['duplicate operationId', minimal("  /a:\n    get: { operationId: x, responses: { default: { description: x } } }\n  /b:\n    get: { operationId: x, responses: { default: { description: x } } }"), '#/paths/~1b/get/operationId: duplicate operationId "x"'],
    ['async job polling nothing', minimal("  /a:\n    post: { operationId: x, x-async-job: { poll: nope }, responses: { default: { description: x } } }"), '#/paths/~1a/post/x-async-job/poll: no operation has the operationId "nope"'],
    ['bad x-pagination', minimal("  /a:\n    get: { x-pagination: offset, responses: { default: { description: x } } }"), '#/paths/~1a/get/x-pagination: the only supported value is "cursor"'],
    ['adjacent path parameters', minimal("  /ab/{a}{b}:\n    get: { responses: { default: { description: x } } }"), '#/paths/~1ab~1{a}{b}: two path parameters side by side ("}{") cannot be told apart'],
    ['path without slash', minimal("  pets:\n    get: { responses: { default: { description: x } } }"), '#/paths/pets: a path must start with "/"'],
    ['unparseable YAML', 'openapi: [1, 2', '#: cannot parse the document'],
    // Defined by themselves: tsc refuses the circular type alias, zod recursed until the stack overflowed.
    ['ref alias cycle', minimal('  {}', "components:\n  schemas:\n    A: { $ref: '#/components/schemas/B' }\n    B: { $ref: '#/components/schemas/A' }"), '#/components/schemas/A: schema "A" is defined by itself (A -> B -> A)'],
    ['allOf of itself', minimal('  {}', "components:\n  schemas:\n    C: { allOf: [{ $ref: '#/components/schemas/C' }] }"), 'schema "C" is defined by itself (C -> C)'],
    ['nullable self ref', minimal('  {}', "components:\n  schemas:\n    D: { oneOf: [{ type: string }, { $ref: '#/components/schemas/D', nullable: true }] }"), 'schema "D" is defined by itself (D -> D)'],
  ])('%s', (_, yaml, message) => {
    expect(errorOf(() => fromYaml(yaml)).message).toContain(message);
  });
});

describe('a properties map given by $ref', () => {
  // DigitalOcean's description writes `properties: { $ref: 'attributes.yml#/load_balancer_droplet_ids' }`;
  // the IR refused it as a property called "$ref" whose schema was a string.
  it('is read as the map it points at', () => {
    const ir = fromYaml(minimal('  {}', [
      'components:',
      '  x-attributes:',
      '    ids: { droplet_ids: { type: array, items: { type: integer } } }',
      '    alias: { $ref: "#/components/x-attributes/ids" }',
      '  schemas:',
      "    Ids: { type: object, properties: { $ref: '#/components/x-attributes/alias' } }",
      "    Named: { type: object, properties: { $ref: { type: string } } }",
    ].join('\n')));
    const schema = (name: string) => ir.schemas.find((s) => s.name === name)!.schema;
    expect(schema('Ids')).toEqual({ type: 'object', properties: { droplet_ids: { type: 'array', items: { type: 'integer' } } } });
    expect(schema('Named')).toEqual({ type: 'object', properties: { $ref: { type: 'string' } } });
  });
  it('names the pointer when the target is not a map', () => {
    const yaml = minimal('  {}', "components:\n  schemas:\n    Bad: { type: object, properties: { $ref: '#/info/title' } }");
    expect(errorOf(() => fromYaml(yaml)).message).toBe('#/components/schemas/Bad/properties/$ref: "properties" must be an object');
  });
});

describe('recursive schemas', () => {
  it('may refer to themselves through properties and items, mutually too', () => {
    const ir = fromYaml(minimal('  {}', [
      'components:',
      '  schemas:',
      "    Node: { type: object, properties: { children: { type: array, items: { $ref: '#/components/schemas/Node' } }, other: { $ref: '#/components/schemas/Other' } } }",
      "    Other: { type: object, properties: { back: { allOf: [{ $ref: '#/components/schemas/Node' }] } } }",
      "    List: { type: array, items: { oneOf: [{ type: string }, { $ref: '#/components/schemas/List' }] } }",
    ].join('\n')));
    expect(ir.schemas.map((s) => s.name)).toEqual(['Node', 'Other', 'List']);
  });
});

describe('webhooks (OpenAPI 3.1)', () => {
  it('reads each event with its body, and names a bad one by pointer', () => {
    const ir = fromYaml(`
openapi: 3.1.0
info: { title: T, version: '1' }
paths: {}
webhooks:
  thing.done:
    post:
      summary: A thing is done
      requestBody:
        content:
          application/json:
            schema: { $ref: '#/components/schemas/ThingDone' }
components:
  schemas:
    ThingDone: { type: object, properties: { type: { const: thing.done } } }
`);
    expect(ir.webhooks).toMatchObject([{ name: 'thing.done', method: 'post', summary: 'A thing is done', pointer: '#/webhooks/thing.done/post' }]);
    expect(ir.webhooks[0]!.body!.contents[0]!.contentType).toBe('application/json');
    expect(fromYaml(`openapi: 3.1.0\ninfo: { title: T, version: '1' }\npaths: {}\n`).webhooks).toEqual([]);
    expect(() => fromYaml(`openapi: 3.1.0\ninfo: { title: T, version: '1' }\nwebhooks:\n  x:\n    post: 3\n`)).toThrow('#/webhooks/x/post');
  });
});
