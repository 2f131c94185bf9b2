/**
 * The generator parts behind the CLI, in process: multi-file specs, names that are also
 * JavaScript built-ins, the breaking-change classifier, the built-in lint checks and the stub
 * insertion on module shapes `init` does not write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffSpecs } from '../../generator/diff.js';
import { buildIr } from '../../generator/ir.js';
import { structuralFindings } from '../../generator/lint.js';
import { loadSpecDocument } from '../../generator/load.js';
import { insertStubs } from '../../generator/stubs.js';
import { FRAMEWORK_VERSION } from '../../generator/version.js';
import { generateInto, ROOT, SPECS, scratchDir, typecheck } from '../generator/helpers.js';

const ALL = ['types.gen.ts', 'validators.gen.ts', 'routes.gen.ts', 'handlers.gen.ts', 'catalog.gen.ts', 'mcp.gen.ts', 'sdk.gen.ts'];
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('specs the generator used to refuse or mangle', () => {
  it('a multi-file spec is bundled through swagger-parser; every artifact generates and type-checks', { timeout: 300_000 }, async () => {
    const dir = scratchDir('multi-file');
    const result = await generateInto(`${SPECS}/multi-file/openapi.yaml`, dir);
    expect(result.files.map((f) => f.file)).toEqual(expect.arrayContaining(ALL));
    const types = result.files.find((f) => f.file === 'types.gen.ts')!.text;
    expect(types).toMatch(/text: string/);
    expect(types).toMatch(/name: string/);
    const validators = await import(path.join(dir, 'validators.gen.ts'));
    expect(validators.operationValidators.getNote.path.safeParse({ id: 'x_1' }).success).toBe(false);
    expect(validators.operationValidators.getNote.path.safeParse({ id: 'n_1' }).success).toBe(true);
    const { ok, output } = typecheck([dir], 'multi-file');
    expect(output).toBe('');
    expect(ok).toBe(true);
  });

  it('operationIds, tags, schemas and properties named constructor, __proto__, toString... are safe in every artifact', { timeout: 300_000 }, async () => {
    const dir = scratchDir('reserved-names');
    const result = await generateInto(`${SPECS}/reserved-names.yaml`, dir);
    expect(result.files.map((f) => f.file)).toEqual(expect.arrayContaining(ALL));
    const { ok, output } = typecheck([dir], 'reserved-names');
    expect(output).toBe('');
    expect(ok).toBe(true);
    // At run time: a body with own keys `constructor` and `__proto__` validates and keeps them as data.
    const validators = await import(path.join(dir, 'validators.gen.ts'));
    const ops = validators.operationValidators as Record<string, { body: { safeParse(v: unknown): { success: boolean; data?: unknown } } }>;
    const op = Object.values(ops).find((o) => o.body)!;
    // The generator keeps `__proto__` as a field of the shape (zod 4 itself then skips that key when parsing).
    expect(Object.keys((validators.schemas.Proto as { unwrap?: unknown; _def: { getter(): { shape: object } } })._def.getter().shape).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(op.body.safeParse(JSON.parse('{"toString":true}')).success).toBe(false); // constructor is required
    const parsed = op.body.safeParse(JSON.parse('{"constructor":"c","__proto__":{"polluted":true},"toString":true}'));
    expect(parsed.success).toBe(true);
    expect(Object.getPrototypeOf(parsed.data)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(parsed.data, 'constructor')?.value).toBe('c');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

const BASE = {
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  paths: {
    '/pets/{id}': {
      get: {
        operationId: 'getPet',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, { name: 'view', in: 'query', schema: { type: 'string', enum: ['short', 'full'] } }],
        responses: { 200: { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' } } } }, 404: { description: 'missing' } },
      },
      put: {
        operationId: 'putPet',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' } } } },
        responses: { 200: { description: 'ok' } },
      },
    },
  },
  components: { schemas: { Pet: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, age: { type: ['integer', 'null'] }, kind: { type: 'string', enum: ['cat', 'dog'] } } } } },
} as const;

function changed(edit: (doc: any) => void) {
  const head = clone(BASE) as any;
  edit(head);
  return diffSpecs(clone(BASE) as any, head).map((c) => `${c.breaking ? 'B' : 'ok'} ${c.where}: ${c.message}`);
}

describe('diff', () => {
  it('classifies breaking and compatible changes', () => {
    expect(changed(() => {})).toEqual([]);
    expect(changed((d) => { delete d.paths['/pets/{id}'].put; })).toEqual(['B PUT /pets/{}: operation removed (putPet)']);
    expect(changed((d) => { d.paths['/pets/{id}'].get.parameters.push({ name: 'lang', in: 'query', required: true, schema: { type: 'string' } }); }))
      .toEqual(['B GET /pets/{} parameter query lang: new required parameter']);
    expect(changed((d) => { d.paths['/pets/{id}'].get.parameters[1].schema.enum = ['short']; }))
      .toEqual(['B GET /pets/{} parameter query view: enum narrowed: "full" no longer accepted']);
    expect(changed((d) => { delete d.paths['/pets/{id}'].get.responses[404]; })).toEqual(['B GET /pets/{} response 404: status removed']);
    expect(changed((d) => { d.components.schemas.Pet.properties.age.type = 'integer'; }))
      .toEqual(['B PUT /pets/{} body.age: type narrowed: no longer accepts "null"']);
    expect(changed((d) => { d.components.schemas.Pet.required.push('kind'); })).toEqual(['B PUT /pets/{} body.kind: request field now required']);
    expect(changed((d) => { d.components.schemas.Pet.required = []; })).toEqual(['B GET /pets/{} response 200 body.name: response field no longer required (may be absent)']);
    expect(changed((d) => { d.components.schemas.Pet.properties.kind.enum.push('fox'); }))
      .toEqual([
        'ok GET /pets/{} response 200 body.kind: enum value(s) added: "fox" (clients should tolerate unknown values)',
        'ok PUT /pets/{} body.kind: enum value(s) added: "fox"',
      ]);
    // readOnly / writeOnly by direction: a required server-set id is no new request field, a
    // writeOnly password in a response is none, and a property made writeOnly is no longer sent.
    expect(changed((d) => { d.components.schemas.Pet.properties.id = { type: 'string', readOnly: true }; d.components.schemas.Pet.required.push('id'); }))
      .toEqual(['ok GET /pets/{} response 200 body.id: response field added', 'ok PUT /pets/{} body.id: readOnly field added (never in a request)']);
    expect(changed((d) => { d.components.schemas.Pet.properties.password = { type: 'string', writeOnly: true }; }))
      .toEqual(['ok GET /pets/{} response 200 body.password: writeOnly field added (never in a response)', 'ok PUT /pets/{} body.password: request field added (optional)']);
    expect(changed((d) => { d.components.schemas.Pet.properties.name.writeOnly = true; }))
      .toEqual(['B GET /pets/{} response 200 body.name: response field no longer required (may be absent)']);
    expect(changed((d) => { d.paths['/pets/{petId}'] = d.paths['/pets/{id}']; delete d.paths['/pets/{id}']; d.paths['/pets/{petId}'].get.parameters[0].name = 'petId'; }))
      .toEqual(['ok GET /pets/{} parameter path id: parameter removed', 'B GET /pets/{} parameter path petId: new required parameter']);
  });
});

describe('lint (built-in checks)', () => {
  const doc = (schemas: object, extra: object = {}) => ({ openapi: '3.1.0', info: { title: 't', version: '1' }, paths: {}, components: { schemas, ...extra } }) as any;
  it('flags unknown types with their pointer, and nothing that merely looks like a type', () => {
    const findings = structuralFindings(doc(
      { A: { type: 'object', properties: { type: { type: 'string' }, b: { type: ['string', 'nul'] } }, example: { type: 'whatever' } } },
      { securitySchemes: { key: { type: 'apiKey', in: 'header', name: 'k' } } },
    ));
    expect(findings.map((f) => `${f.pointer} ${f.message}`)).toEqual(['#/components/schemas/A/properties/b/type unknown type "nul" (one of string, number, integer, boolean, array, object, null)']);
  });

  it('follows $refs into lists, as bundling a multi-file spec writes them (DigitalOcean: 334 false path-params errors)', async () => {
    // A parameter file referenced by two operations: swagger-parser keeps the first copy inline and
    // points the second at it, `#/paths/~1keys~1{id}/get/parameters/0`; the same for a body's array.
    const dir = scratchDir('lint-list-refs');
    writeFileSync(path.join(dir, 'id.yaml'), 'in: path\nname: id\nrequired: true\nschema: { type: string }\n');
    writeFileSync(path.join(dir, 'tags.yaml'), 'type: array\nitems: { type: string }\n');
    const body = { content: { 'application/json': { schema: { oneOf: [{ $ref: 'tags.yaml' }, { type: 'string' }] } } } };
    writeFileSync(path.join(dir, 'root.json'), JSON.stringify({
      openapi: '3.0.3', info: { title: 't', version: '1' },
      paths: {
        '/keys/{id}': {
          get: { operationId: 'getKey', parameters: [{ $ref: 'id.yaml' }], responses: { 204: { description: 'ok' } } },
          put: { operationId: 'putKey', parameters: [{ $ref: 'id.yaml' }], requestBody: body, responses: { 204: { description: 'ok' } } },
        },
        '/tags': { post: { operationId: 'postTags', requestBody: body, responses: { 204: { description: 'ok' } } } },
      },
    }));
    const { root } = await loadSpecDocument(path.join(dir, 'root.json'));
    expect(JSON.stringify(root)).toContain('"$ref":"#/paths/~1keys~1{id}/get/parameters/0"');
    expect(JSON.stringify(root)).toContain('"$ref":"#/paths/~1tags/post/requestBody/content/application~1json/schema/oneOf/0"');
    expect(structuralFindings(root).map((f) => `${f.rule} ${f.pointer}`)).toEqual([
      'lavendly/unbounded-array #/paths/~1tags/post/requestBody/content/application~1json/schema/oneOf/0',
    ]);
  });
});

describe('lint: lavendly/unbounded-array', () => {
  it('warns of a request body array without maxItems, through $refs and nesting, and of nothing in responses', () => {
    const list = { type: 'array', items: { type: 'string' } };
    const root = {
      openapi: '3.1.0', info: { title: 't', version: '1' },
      paths: {
        '/a': {
          post: {
            operationId: 'a',
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/In' } } } },
            responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { all: list } } } } } },
          },
        },
      },
      components: {
        schemas: {
          In: { type: 'object', properties: { tags: list, bounded: { ...list, maxItems: 5 }, nested: { type: 'object', properties: { deep: { type: ['array', 'null'], items: { $ref: '#/components/schemas/Leaf' } } } } } },
          Leaf: { type: 'object', properties: { more: list } },
        },
      },
    } as any;
    const findings = structuralFindings(root).filter((f) => f.rule === 'lavendly/unbounded-array');
    expect(findings.map((f) => `${f.severity} ${f.pointer}`)).toEqual([
      'warning #/components/schemas/In/properties/tags',
      'warning #/components/schemas/In/properties/nested/properties/deep',
      'warning #/components/schemas/Leaf/properties/more',
    ]);
  });
});

describe('lint: unbounded parts behind a `properties: {$ref}` map', () => {
  it('looks inside a properties map named by reference (DigitalOcean writes them), where the map stands', () => {
    const root = {
      openapi: '3.0.3', info: { title: 't', version: '1' },
      paths: {
        '/a': {
          post: {
            operationId: 'a',
            requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { $ref: '#/components/schemas/Base/properties' } } } } },
            responses: { 204: { description: 'ok' } },
          },
        },
      },
      components: {
        schemas: {
          // Reached only through the map: the body itself names none of it.
          Base: { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' } }, meta: { type: 'object', additionalProperties: true }, name: { type: 'string' } } },
        },
      },
    } as any;
    const findings = structuralFindings(root).filter((f) => f.rule.startsWith('lavendly/unbounded-'));
    expect(findings.map((f) => `${f.rule} ${f.pointer}`)).toEqual([
      'lavendly/unbounded-array #/components/schemas/Base/properties/tags',
      'lavendly/unbounded-object #/components/schemas/Base/properties/meta',
    ]);
  });
});

describe('lint: lavendly/unbounded-object', () => {
  it('warns of a request body object open to any key without maxProperties, through $refs, and of nothing in responses', () => {
    const open = { type: 'object', additionalProperties: true };
    const root = {
      openapi: '3.1.0', info: { title: 't', version: '1' },
      paths: {
        '/a': {
          post: {
            operationId: 'a',
            requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/In' } } } },
            responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: { all: open } } } } } },
          },
        },
      },
      components: {
        schemas: {
          In: {
            type: 'object', additionalProperties: false,
            properties: { meta: open, bounded: { ...open, maxProperties: 50 }, typed: { type: 'object', additionalProperties: { $ref: '#/components/schemas/Leaf' } }, closed: { type: 'object', properties: { a: { type: 'string' } } } },
          },
          Leaf: { type: 'object', maxProperties: 5, additionalProperties: { type: 'object', additionalProperties: { type: 'string' } } },
        },
      },
    } as any;
    const findings = structuralFindings(root).filter((f) => f.rule === 'lavendly/unbounded-object');
    expect(findings.map((f) => `${f.severity} ${f.pointer}`)).toEqual([
      'warning #/components/schemas/In/properties/meta',
      'warning #/components/schemas/In/properties/typed',
      'warning #/components/schemas/Leaf/additionalProperties',
    ]);
  });

  it('finds nothing in this repository\'s spec or the petstore example', async () => {
    for (const spec of ['spec/openapi.yaml', 'examples/petstore/openapi.yaml']) {
      const { root } = await loadSpecDocument(path.join(ROOT, spec));
      const rules = new Set(structuralFindings(root).map((f) => f.rule));
      expect(rules.has('lavendly/unbounded-object') || rules.has('lavendly/backtracking-pattern') || rules.has('lavendly/unbounded-array'), spec).toBe(false);
    }
  });
});

describe('lint: lavendly/security-scheme', () => {
  it('warns only of the used schemes the SDKs cannot send (digest, mutualTLS); keys, Basic and bearer are sent', () => {
    // Twilio (HTTP Basic) and petstore3 (an api_key header) are sent since the SDKs read securitySchemes.
    const ok = { 204: { description: 'ok' } };
    const root = {
      openapi: '3.1.0', info: { title: 't', version: '1' },
      security: [{ basic: [] }],
      paths: {
        '/a': { get: { operationId: 'a', security: [{ cookie: [] }, { oauth: ['read'] }, { digest: [] }], responses: ok } },
        '/b': { get: { operationId: 'b', security: [{ bearer: [] }, { header: [] }, { oidc: [] }, { tls: [] }], responses: ok } },
      },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          bearer: { type: 'http', scheme: 'Bearer' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'session' },
          header: { $ref: '#/components/x-schemes/header' },
          oauth: { type: 'oauth2', flows: {} },
          oidc: { type: 'openIdConnect', openIdConnectUrl: 'https://id.example/.well-known/openid-configuration' },
          digest: { type: 'http', scheme: 'digest' },
          tls: { type: 'mutualTLS' },
          unused: { type: 'mutualTLS' },
        },
        'x-schemes': { header: { type: 'apiKey', in: 'header', name: 'api_key' } },
      },
    } as any;
    const findings = structuralFindings(root).filter((f) => f.rule === 'lavendly/security-scheme');
    expect(findings.map((f) => `${f.severity} ${f.pointer}`)).toEqual([
      'warning #/components/securitySchemes/digest',
      'warning #/components/securitySchemes/tls',
    ]);
    expect(findings[0]!.message).toContain('HTTP digest authentication is not implemented');
  });
});

describe('lint: lavendly/backtracking-pattern', () => {
  it('names patterns that repeat a repeating group or an overlapping choice, wherever a schema stands', () => {
    const str = (pattern: string) => ({ type: 'string', pattern });
    const root = {
      openapi: '3.1.0', info: { title: 't', version: '1' },
      paths: { '/a/{id}': { get: { operationId: 'a', parameters: [{ name: 'id', in: 'path', required: true, schema: str('^(a+)+$') }], responses: { 200: { description: 'ok' } } } } },
      components: {
        schemas: {
          Nested: str('^(\\w*x?)*$'), Choice: str('(a|ab)*'), Counted: str('^(?:[a-z]{1,8}){2,}$'),
          // Safe shapes: a fixed count inside, a repeated choice of distinct branches, escaped or bracketed parentheses.
          Ids: str('^wf_[A-Za-z0-9_-]{1,64}$'), Fixed: str('^(ab{2})*$'), Distinct: str('^(a|b)*$'), Escaped: str('^\\(a+\\)+[(a+)+]$'),
          Sample: { type: 'string', example: '(a+)+', pattern: '^[a-z]+$' },
        },
      },
    } as any;
    const findings = structuralFindings(root).filter((f) => f.rule === 'lavendly/backtracking-pattern');
    expect(findings.map((f) => f.pointer)).toEqual([
      '#/paths/~1a~1{id}/get/parameters/0/schema/pattern',
      '#/components/schemas/Nested/pattern',
      '#/components/schemas/Choice/pattern',
      '#/components/schemas/Counted/pattern',
    ]);
    expect(findings[0]!.message).toMatch(/^\(a\+\)\+ repeats a group that repeats inside/);
  });
});

describe('stub insertion', () => {
  it('adds a missing member to a module without a trailing comma or a T import, touching only the last member\'s comma', async () => {
    const ir = await buildIr(`${SPECS}/petstore.yaml`);
    const tag = ir.tagInfo[0]!;
    const ops = ir.operations.filter((o) => o.tag === tag.name);
    const first = ops[0]!;
    const text = `import type { ${tag.typeName}Handlers } from './handlers.gen.js';\n\nexport const h = {\n  ${first.identifier}: async () => ({ status: 200, body: [] }) as never\n} satisfies ${tag.typeName}Handlers<{ user: string }>;\n`;
    const out = await insertStubs(text, 'h.ts', tag, ops, { handlersDir: 'handlers', generatedDir: 'generated', context: { type: 'X', from: 'x.ts' } });
    expect(out!.added).toEqual(ops.slice(1).map((o) => o.operationId));
    expect(out!.text).toContain("import type * as T from '../generated/types.gen.js';");
    expect(out!.text).toContain(`as never,\n`);
    expect(out!.text).toContain(`ctx: { user: string }): Promise<T.`);
    expect(await insertStubs(out!.text, 'h.ts', tag, ops, { handlersDir: 'handlers', generatedDir: 'generated', context: { type: 'X', from: 'x.ts' } })).toBeNull();
  });
});

it('--version prints the framework package\'s version', () => {
  expect(FRAMEWORK_VERSION).toBe(JSON.parse(readFileSync(path.join(ROOT, 'packages/framework/package.json'), 'utf8')).version);
});

describe('diff --base with a git ref, and generate --watch', () => {
  it('reads the base spec at a git ref (HEAD), and names a ref git cannot show', async () => {
    const { loadBase } = await import('../../generator/diff.js');
    const base = await loadBase('HEAD', 'spec/openapi.yaml');
    expect(Object.keys(base.paths as object).length).toBeGreaterThan(10);
    // Against itself, a spec has no changes.
    expect(diffSpecs(base, base)).toEqual([]);
    await expect(loadBase('no-such-ref-xyz', 'spec/openapi.yaml')).rejects.toThrow(/not a file, and git cannot show the spec/);
  });

  it('--watch regenerates when the spec changes', { timeout: 180_000 }, async () => {
    const { spawn } = await import('node:child_process');
    const { copyFileSync, readFileSync: read, writeFileSync } = await import('node:fs');
    const dir = scratchDir('watch');
    const spec = path.join(dir, 'spec', 'petstore.yaml');
    (await import('node:fs')).mkdirSync(path.dirname(spec));
    copyFileSync(path.join(ROOT, SPECS, 'petstore.yaml'), spec);
    const out = path.relative(ROOT, path.join(dir, 'out'));
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'generator/cli.ts', 'generate', '--watch', '--no-spectral', '--only', 'types', '--spec', path.relative(ROOT, spec), '--out', out], { cwd: ROOT });
    let output = '';
    const waitFor = (re: RegExp, from: number) => new Promise<void>((resolve, reject) => {
      const check = () => { if (re.test(output.slice(from))) { child.stdout.off('data', onData); resolve(); } };
      const onData = (c: Buffer) => { output += c.toString(); check(); };
      child.stdout.on('data', onData);
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
      check();
    });
    try {
      await waitFor(/watching /, 0);
      const mark = output.length;
      // Each edit changes the title and the file's size; it is repeated every few seconds in case
      // the watcher missed one (a change notification is not guaranteed to arrive).
      const original = read(spec, 'utf8');
      let edits = 0;
      const edit = () => { edits++; writeFileSync(spec, original.replace('title: Swagger Petstore', `title: Watched Petstore ${'!'.repeat(edits)}`)); };
      edit();
      const again = setInterval(edit, 5_000);
      try {
        await waitFor(/wrote {5}\S+types\.gen\.ts/, mark);
      } finally {
        clearInterval(again);
      }
      expect(read(path.join(ROOT, out, 'types.gen.ts'), 'utf8'), output).toContain('"Watched Petstore !');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
