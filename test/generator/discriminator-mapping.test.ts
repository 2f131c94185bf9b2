/**
 * A discriminator whose members type the property as a plain string (the common form: the
 * values live in `mapping`, or are the members' names): the validator must dispatch on the
 * value. A plain union let `{kind: 'circle', side: 1}` through as a Square and `{kind: 'bogus'}`
 * through as whichever member it happened to fit.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateInto, scratchDir } from './helpers.js';

type Schema = { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: { path: unknown[]; message: string }[] } } };
type Module = { schemas: Record<string, Schema> };

const object = (prop: string) => ({ type: 'object', required: ['kind', prop], properties: { kind: { type: 'string' }, [prop]: { type: 'number' } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const SPEC = {
  openapi: '3.0.3',
  info: { title: 'shapes', version: '1' },
  paths: {},
  components: {
    schemas: {
      Mapped: { oneOf: [ref('Circle'), ref('Square')], discriminator: { propertyName: 'kind', mapping: { circle: ref('Circle').$ref, sq: 'Square' } } },
      Implicit: { anyOf: [ref('Circle'), ref('Square')], discriminator: { propertyName: 'kind' } },
      Nullable: { oneOf: [ref('Circle')], discriminator: { propertyName: 'kind', mapping: { round: 'Circle' } }, nullable: true },
      // The property is optional in one member (as in GitHub's spec): a plain union, as before.
      Optional: { oneOf: [ref('Circle'), ref('Free')], discriminator: { propertyName: 'kind', mapping: { circle: 'Circle', free: 'Free' } } },
      Free: { type: 'object', properties: { kind: { type: 'string' } } },
      Circle: object('r'),
      Square: object('side'),
    },
  },
};

let s: Module['schemas'];

beforeAll(async () => {
  const dir = scratchDir('discriminator-mapping');
  const spec = path.join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify(SPEC));
  await generateInto(spec, path.join(dir, 'out'), { only: ['validators'] });
  s = ((await import(pathToFileURL(path.join(dir, 'out', 'validators.gen.ts')).href)) as Module).schemas;
}, 120_000);

const ok = (schema: Schema, v: unknown) => expect(schema.safeParse(v).error?.issues ?? [], JSON.stringify(v)).toEqual([]);
const bad = (schema: Schema, v: unknown) => expect(schema.safeParse(v).success, JSON.stringify(v)).toBe(false);

describe('a discriminator without literals in its members', () => {
  it('picks the member by the mapping, and by the component name', () => {
    ok(s.Mapped!, { kind: 'circle', r: 1 });
    ok(s.Mapped!, { kind: 'sq', side: 2, extra: true });
    ok(s.Mapped!, { kind: 'Square', side: 2 }); // implicit name, not given to another member
    bad(s.Mapped!, { kind: 'circle', side: 1 }); // a Square's fields under a Circle's value
    bad(s.Mapped!, { kind: 'bogus', side: 1 });
    bad(s.Mapped!, { side: 1 });
    const issues = s.Mapped!.safeParse({ kind: 'bogus', r: 1 }).error!.issues;
    expect(issues[0]!.path).toEqual(['kind']);
  });

  it('without a mapping, by the component names', () => {
    ok(s.Implicit!, { kind: 'Circle', r: 1 });
    bad(s.Implicit!, { kind: 'Circle', side: 1 });
    bad(s.Implicit!, { kind: 'circle', r: 1 });
  });

  it('stays a plain union when a member does not require the property', () => {
    ok(s.Optional!, { r: 1 });
    ok(s.Optional!, { kind: 'anything' });
  });

  it('with a single member, and nullable', () => {
    ok(s.Nullable!, null);
    ok(s.Nullable!, { kind: 'round', r: 1 });
    bad(s.Nullable!, { kind: 'square', r: 1 });
  });
});
