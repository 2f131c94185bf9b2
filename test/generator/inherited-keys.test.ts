/**
 * Properties and parameters named like Object.prototype members (`constructor`, `toString`,
 * `valueOf`...): zod reads `input[key]`, which finds the inherited function when the key is
 * absent. An optional one must still accept an object without it, and the value the handler (or
 * a fast check) gets must never be that function.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { SPECS, generateInto, scratchDir } from './helpers.js';

type Result = { success: boolean; data?: unknown; error?: { issues: unknown[] } };
type Schema = { safeParse(v: unknown): Result };
type Check = (v: unknown) => unknown;
type OpValidators = { query: Schema; body: Schema; responses: Record<string, Schema>; fastQuery?: Check; fastBody?: Check };
type Module = { schemas: Record<string, Schema>; operationValidators: Record<string, OpValidators> };

let mod: Module;

beforeAll(async () => {
  const dir = scratchDir('inherited-keys');
  await generateInto(`${SPECS}/reserved-names.yaml`, dir, { only: ['validators'] });
  mod = (await import(pathToFileURL(path.join(dir, 'validators.gen.ts')).href)) as Module;
}, 120_000);

const NO = Symbol.for('lavendly.fast-check.no');

function accepted(s: Schema, v: unknown): Record<string, unknown> {
  const r = s.safeParse(v);
  expect(r.error?.issues ?? [], JSON.stringify(v)).toEqual([]);
  return r.data as Record<string, unknown>;
}

describe('keys named like Object.prototype members', () => {
  it('an optional one may be absent from a JSON body, and is not the inherited function', () => {
    const v = mod.operationValidators.constructor_!;
    // `toString` is optional in the body's schema, `constructor` required.
    const data = accepted(v.body, JSON.parse('{"constructor":"c"}'));
    expect(typeof data.toString).not.toBe('boolean');
    expect(data.constructor).toBe('c');
    expect(v.body.safeParse(JSON.parse('{"toString":true}')).success).toBe(false); // constructor is required
    expect(v.body.safeParse(JSON.parse('{"constructor":"c","toString":"yes"}')).success).toBe(false);
    // The response's optional `valueOf` number and `prototype` string.
    accepted(v.responses['200']!, {});
    expect(v.fastBody === undefined || v.fastBody(JSON.parse('{"constructor":"c"}')) === NO).toBe(true);
  });

  it('an optional query parameter named constructor may be left out', () => {
    const v = mod.operationValidators.proto__!;
    const query = accepted(v.query, {});
    expect(query.constructor).toBeUndefined();
    expect(accepted(v.query, { constructor: 'x' }).constructor).toBe('x');
    // A record-like schema with a declared optional `constructor`.
    accepted(v.responses['200']!, { a: 'b' });
    expect(v.responses['200']!.safeParse({ constructor: 1 }).success).toBe(false);
  });

  it('the same in an object with additionalProperties', () => {
    const hasOwn = mod.schemas.HasOwnProperty!;
    accepted(hasOwn, { other: 'text' });
    expect(hasOwn.safeParse({ other: 1 }).success).toBe(false);
  });
});
