/**
 * The generated zod validators, imported from a scratch dir: they accept every example in the
 * fixtures and reject named invalid inputs; string parameters are coerced by schema and style.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIr } from '../../generator/ir.js';
import { SPECS, generateInto, scratchDir } from './helpers.js';

type Schema = { safeParse(v: unknown): { success: boolean; data?: unknown; error?: unknown } };
type OpValidators = { path: Schema; query: Schema; headers: Schema; body: Schema; bodies: Record<string, Schema>; responses: Record<string, Schema> };
type Module = { schemas: Record<string, Schema>; operationValidators: Record<string, OpValidators> };

const mods: Record<string, Module> = {};

async function load(name: string): Promise<Module> {
  const dir = scratchDir(`validators-${name}`);
  await generateInto(`${SPECS}/${name}.yaml`, dir, { only: ['validators'] });
  return (await import(pathToFileURL(path.join(dir, 'validators.gen.ts')).href)) as Module;
}

beforeAll(async () => {
  for (const name of ['petstore', 'feature-3.0', 'feature-3.1']) mods[name] = await load(name);
}, 120_000);

const ok = (s: Schema, v: unknown) => {
  const r = s.safeParse(v);
  if (!r.success) throw new Error(`rejected ${JSON.stringify(v)}: ${JSON.stringify(r.error)}`);
  return r.data;
};
const bad = (s: Schema, v: unknown) => expect(s.safeParse(v).success, `accepted ${JSON.stringify(v)}`).toBe(false);

describe('every example in the fixtures is accepted', () => {
  for (const name of ['petstore', 'feature-3.0', 'feature-3.1']) {
    it(name, async () => {
      const ir = await buildIr(`${SPECS}/${name}.yaml`);
      let count = 0;
      for (const op of ir.operations) {
        const v = mods[name]!.operationValidators[op.identifier]!;
        for (const m of op.requestBody?.contents ?? []) for (const ex of m.examples) (ok(v.bodies[m.contentType]!, ex), count++);
        for (const r of op.responses) for (const ex of r.contents[0]?.examples ?? []) (ok(v.responses[r.status]!, ex), count++);
      }
      expect(count).toBeGreaterThan(0);
    });
  }
});

describe('petstore', () => {
  it('validates bodies and coerces the limit', () => {
    const v = mods.petstore!.operationValidators;
    ok(v.createPets!.body, { id: 1, name: 'rex', tag: 'dog', extra: 'allowed' });
    bad(v.createPets!.body, { id: 1 }); // name missing
    bad(v.createPets!.body, { id: 1.5, name: 'x' }); // not an integer
    bad(v.createPets!.body, { id: '1', name: 'x' }); // bodies are not coerced
    expect(ok(v.listPets!.query, { limit: '50' })).toEqual({ limit: 50 });
    expect(ok(v.listPets!.query, {})).toEqual({});
    bad(v.listPets!.query, { limit: '101' });
    bad(v.listPets!.query, { limit: 'abc' });
    // Integers as JSON writes them, nothing Number() would also take.
    for (const limit of ['0x10', '1e1', ' 5', '5 ', '+5', '5.0', '05', '', '-0x1', 'Infinity']) bad(v.listPets!.query, { limit });
    bad(v.listPets!.responses['200']!, Array.from({ length: 101 }, (_, i) => ({ id: i, name: 'n' })));
    expect(ok(v.showPetById!.body, { ignored: true })).toBeUndefined();
  });
});

describe('integer formats', () => {
  it('int32 is checked as its range; int64 as a safe integer', () => {
    const error = mods.petstore!.schemas.Error!;
    ok(error, { code: 2 ** 31 - 1, message: 'x' });
    ok(error, { code: -(2 ** 31), message: 'x' });
    bad(error, { code: 2 ** 31, message: 'x' });
    bad(error, { code: -(2 ** 31) - 1, message: 'x' });
    // The query limit keeps its own, narrower maximum (100) and gains int32's minimum.
    bad(mods.petstore!.operationValidators.listPets!.query, { limit: '-2147483649' });
    bad(mods.petstore!.operationValidators.createPets!.body, { id: 2 ** 53, name: 'x' });
  });
});

describe('feature-3.0', () => {
  const v = () => mods['feature-3.0']!.operationValidators;
  const s = () => mods['feature-3.0']!.schemas;

  it('coerces query parameters by style, applies defaults, gathers deepObject', () => {
    const q = ok(v().pets_list_all!.query, {
      tags: 'a,b', ids: ['1', '2'], sizes: '1.5|2', words: 'x y', 'filter[kind]': 'cat', 'filter[min_age]': '3', vaccinated: 'true', unknown: 'dropped',
    });
    expect(q).toEqual({ tags: ['a', 'b'], ids: [1, 2], sizes: [1.5, 2], words: ['x', 'y'], filter: { kind: 'cat', min_age: 3 }, vaccinated: true, limit: 20, sort: 'name' });
    expect(ok(v().pets_list_all!.query, { ids: '7' })).toMatchObject({ ids: [7] });
    bad(v().pets_list_all!.query, { limit: '0' });
    bad(v().pets_list_all!.query, { sort: 'bogus' });
    bad(v().pets_list_all!.query, { vaccinated: 'yes' });
    bad(v().pets_list_all!.query, { ids: ['1', 'x'] });
    expect(ok(v().pets_list_all!.query, { sizes: '-0.5|1e1|2E-1' })).toMatchObject({ sizes: [-0.5, 10, 0.2] });
    for (const sizes of ['0x1', '.5', '1.', ' 1', 'NaN', '1_000']) bad(v().pets_list_all!.query, { sizes });
  });

  it('gathers deepObject keys a client crafted without throwing or touching a prototype', () => {
    const query = (q: Record<string, unknown>) => v().pets_list_all!.query.safeParse(q);
    // `filter=x&filter[kind]=cat`: a string has no fields to add (this threw a TypeError: a 500).
    expect(query({ filter: 'x', 'filter[kind]': 'cat' }).success).toBe(false);
    expect(query({ filter: ['x', 'y'], 'filter[kind]': 'cat' }).success).toBe(false);
    // `filter[__proto__]` is a field like any other, not the gathered object's prototype.
    const r = query({ 'filter[__proto__]': ['a', 'b'], 'filter[kind]': 'cat' });
    expect(r.success).toBe(true);
    const filter = (r.data as { filter: object }).filter;
    expect(Object.getPrototypeOf(filter)).toBe(Object.prototype);
    expect(filter).toEqual({ kind: 'cat' });
  });

  it('lower-cases header names and splits header arrays', () => {
    expect(ok(v().pets_list_all!.headers, { 'x-trace-ids': 'a,b', host: 'h' })).toEqual({ 'x-trace-ids': ['a', 'b'] });
    bad(v().createPet!.headers, { 'idempotency-key': 'k'.repeat(256) });
  });

  it('coerces path parameters, including label and matrix styles, and lets the operation override a path-level parameter', () => {
    expect(ok(v().get_pet!.path, { 'pet-id': '5' })).toEqual({ 'pet-id': 5 });
    bad(v().get_pet!.path, { 'pet-id': '0' });
    expect(ok(v().get_pet!.query, { verbose: '2' })).toEqual({ verbose: 2 });
    bad(v().get_pet!.query, { verbose: '3' });
    expect(ok(v().delete_!.query, { verbose: 'true' })).toEqual({ verbose: true });
    expect(ok(v().styles!.path, { label: '.a,b', point: ';point=5' })).toEqual({ label: ['a', 'b'], point: 5 });
  });

  it('handles oneOf with and without literal discriminators, allOf, nullable and recursion', () => {
    ok(s().Pet!, { pet_type: 'cat', id: 1, name: 'Tom' });
    bad(s().Pet!, { pet_type: 'cow', id: 1, name: 'Tom' });
    bad(s().Pet!, { pet_type: 'cat', name: 'Tom' }); // id from the allOf base
    bad(s().Dog!, { pet_type: 'dog', id: 1, name: 'Rex', barks: 0 }); // 3.0 boolean exclusiveMinimum
    ok(s().NewPet!, { pet_type: 'x', name: 'y', meows: false });
    bad(s().NewPet!, { pet_type: 'dog', name: 'x', extra: 1 }); // first member is closed, second needs meows
    ok(s().PetOwner!, null);
    bad(s().PetOwner!, { email: 'not an email' });
    ok(s().Tree!, { value: 1, children: [{ value: 2, children: [] }], parent: null });
    bad(s().Tree!, { value: 1, children: [{ value: 'two' }] });
    ok(s().FormJson!, { name: 'inlined from a nested pointer' });
    bad(s().FormJson!, { name: '' });
  });

  it('checks the zoo of enums, formats, bounds, additionalProperties and patterns', () => {
    const zoo = s().Zoo!;
    const base = { string_enum: "it's" };
    for (const good of [
      base,
      { ...base, number_enum: -3, boolean_enum: true, nullable_enum: null, mixed_enum: null },
      { ...base, mixed_enum: 'one', free: { anything: [1] }, closed: { a: 'x' }, dict: { a: 1 }, dict_with_props: { fixed: 'f', n: 2 } },
      { ...base, bad_pattern: 'anything: (?i) cannot compile in JS, so it is not checked', good_pattern: 'abc', date: '2024-02-29' },
      { ...base, percent: 99.5, any_of: 3, not_string: 'not is not enforced', nullable_ref: null, ok: 'still ok', list: ['a', 'b', 'c'] },
      { ...base, 'weird key': 'w', class: 'c', tree: { value: 0 } },
      { ...base, unique: [1, '1', { a: 1 }, { a: 2 }, [1], null] },
    ]) ok(zoo, good);
    for (const [why, value] of [
      ['string enum', { string_enum: 'z' }],
      ['number enum', { ...base, number_enum: 4 }],
      ['boolean enum', { ...base, boolean_enum: false }],
      ['mixed enum', { ...base, mixed_enum: 'two' }],
      ['closed object', { ...base, closed: { a: 'x', b: 1 } }],
      ['dictionary value', { ...base, dict: { a: 'x' } }],
      ['extra property of props + additionalProperties', { ...base, dict_with_props: { n: 'x' } }],
      ['pattern', { ...base, good_pattern: 'ABC' }],
      ['date format', { ...base, date: '29/02/2024' }],
      ['multipleOf', { ...base, percent: 99.25 }],
      ['maximum', { ...base, percent: 101 }],
      ['minItems', { ...base, list: [] }],
      ['maxItems', { ...base, list: ['a', 'b', 'c', 'd'] }],
      ['anyOf', { ...base, any_of: 1.5 }],
      ['nested recursion', { ...base, tree: { value: 0, children: [{}] } }],
      ['uniqueItems (numbers)', { ...base, unique: [1, 2, 1] }],
      ['uniqueItems (objects)', { ...base, unique: [{ a: [1] }, { a: [1] }] }],
    ] as const) expect(zoo.safeParse(value).success, why).toBe(false);
  });

  it('accepts every RFC 3339 date-time form', () => {
    for (const t of ['2020-01-02T03:04:05Z', '2020-01-02t03:04:05.123456z', '2020-01-02T03:04:05+05:30', '2020-01-02 03:04:05-0800']) {
      ok(s().PetBase!, { id: 1, name: 'n', born_at: t });
    }
    bad(s().PetBase!, { id: 1, name: 'n', born_at: 'yesterday' });
  });

  it('validates every declared request content type', () => {
    ok(v().submitForm!.bodies['application/x-www-form-urlencoded']!, { name: 'a' });
    ok(v().submitForm!.bodies['application/json']!, { name: 'Ann', age: 31 });
    bad(v().submitForm!.body, { age: 'x' });
    expect(Object.keys(v().submitForm!.bodies)).toEqual(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data']);
  });
});

describe('feature-3.1', () => {
  const v = () => mods['feature-3.1']!.operationValidators;
  const s = () => mods['feature-3.1']!.schemas;

  it('uses a discriminated union when every member has a literal', () => {
    ok(s().Shape!, { kind: 'circle', r: 1 });
    bad(s().Shape!, { kind: 'circle', r: 0 }); // 3.1 numeric exclusiveMinimum
    bad(s().Shape!, { kind: 'square' });
    ok(s().Shape!, { kind: 'polygon', points: [[0, 0], [1, 1], [2, 0]] });
    bad(s().Shape!, { kind: 'polygon', points: [[0, 0], [1, 1]] });
    bad(v().post_event!.body, { kind: 'click', x: 1 });
  });

  it('handles type arrays, const, prefixItems, $ref siblings and patternProperties', () => {
    ok(s().Point!, [1, 2]);
    bad(s().Point!, [1]);
    bad(s().Point!, [1, 2, 3]);
    ok(s().Json!, { a: [1, 'x', null, { b: true }] });
    ok(s().Mixed!, 5);
    ok(s().Mixed!, 'a');
    bad(s().Mixed!, -1);
    bad(s().Mixed!, '');
    ok(s().Circle!, { kind: 'circle', r: 1, label: null });
    bad(s().Circle!, { kind: 'circle', r: 1, label: 'x'.repeat(21) });
    bad(s().Tagged!, { kind: 'circle', r: 1 });
    ok(s().Tagged!, { kind: 'circle', r: 1, label: 'l' });
    ok(s().Loose!, { kind: 'circle', r: 1, 'x-extra': 'y' });
  });

  it('enforces minProperties and maxProperties by counting own keys', () => {
    const patch = v().patch_shape!.body;
    const r = patch.safeParse({}) as { success: boolean; error?: { issues: { message: string }[] } };
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.message)).toEqual(['expected at least 1 property']);
    ok(patch, { label: null });
    ok(patch, { label: 'x', r: 2 });
    bad(patch, { r: 0 }); // the object's own checks still apply
    bad(patch, { nope: 1 });
    bad(s().ShapePatch!, {});
    bad(s().Labels!, {});
    ok(s().Labels!, { a: 'x' });
    ok(s().Labels!, { a: 'x', b: 'y' });
    bad(s().Labels!, { a: 'x', b: 'y', c: 'z' });
    bad(s().Labels!, { a: 1 });
    ok(s().SmallBag!, {});
    ok(s().SmallBag!, { extra: 1 });
    bad(s().SmallBag!, { a: 'x', extra: 1 });
  });

  it('counts the keys before it checks any: too many bad values make one issue, not one per key', () => {
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    const r = s().Labels!.safeParse(many) as { success: boolean; error?: { issues: { message: string; path: unknown[] }[] } };
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => [i.path, i.message])).toEqual([[[], 'expected between 1 and 2 properties']]);
    // Within the count, the values are still checked.
    bad(s().Labels!, { a: 1 });
  });

  it('validates formats of parameters from path-item refs', () => {
    ok(v().get_job!.path, { job_id: '123e4567-e89b-12d3-a456-426614174000' });
    bad(v().get_job!.path, { job_id: 'nope' });
    ok(v().get_shape!.path, { id: 'abc-1' });
    bad(v().put_shape!.path, { id: 'ABC' });
  });
});
