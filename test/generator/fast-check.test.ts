/**
 * The generated fast checks (generator/schema/fast-check.ts) against zod: for every operation
 * with a `fastBody` or a fast parameter check, thousands of valid and invalid inputs
 * (test/generator/body-variants.ts) go through both (test/generator/fast-check-differential.ts).
 * Runs on this repository's generated validators and on the fixture specs, generated afresh;
 * fast-check-github.slow.test.ts does the same on GitHub's REST description.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIr } from '../../generator/ir.js';
import type { IrDocument } from '../../generator/ir-types.js';
import { BodyVariants } from './body-variants.js';
import { differential, NO, paramsSchema, type Module } from './fast-check-differential.js';
import { SPECS, generateInto, scratchDir } from './helpers.js';

/** Which generated module each spec is checked through: this repository's own, or a fresh one. */
const SUBJECTS = [
  { spec: 'spec/openapi.yaml', module: 'generated' },
  // feature-3.1's bodies are all discriminated unions or bounded-size objects: none has a fast check.
  ...['fast-checks', 'petstore', 'feature-3.0', 'read-write-only'].map((name) => ({ spec: `${SPECS}/${name}.yaml`, module: name })),
];

const loaded: Record<string, { ir: IrDocument; mod: Module }> = {};

beforeAll(async () => {
  for (const { spec, module } of SUBJECTS) {
    let file = path.resolve('generated/validators.gen.ts');
    if (module !== 'generated') {
      const dir = scratchDir(`fast-check-${module}`);
      await generateInto(spec, dir, { only: ['validators'] });
      file = path.join(dir, 'validators.gen.ts');
    }
    loaded[module] = { ir: await buildIr(spec), mod: (await import(pathToFileURL(file).href)) as Module };
  }
}, 120_000);

describe('fast checks agree with zod', () => {
  for (const { module } of SUBJECTS) {
    it(module, () => {
      const { ir, mod } = loaded[module]!;
      const variants = new BodyVariants(ir);
      let checked = 0;
      for (const op of ir.operations) {
        const v = mod.operationValidators[op.identifier]!;
        if (!v.fastBody) continue;
        const first = op.requestBody!.contents[0]!;
        const tally = differential(v.fastBody, v.body, variants.all(first.schema, first.examples));
        // Both sides of the check were exercised: bodies accepted and bodies refused.
        expect(tally.bothAccept, `${op.identifier}: no body accepted`).toBeGreaterThan(0);
        expect(tally.bothRefuse, `${op.identifier}: no body refused`).toBeGreaterThan(10);
        // The spec's own examples take the fast path (or the check would save nothing).
        for (const ex of first.examples) expect(v.fastBody(structuredClone(ex)), `${op.identifier} example`).not.toBe(NO);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }

  for (const { module } of SUBJECTS) {
    it(`${module}: parameters`, () => {
      const { ir, mod } = loaded[module]!;
      const variants = new BodyVariants(ir);
      let checked = 0;
      for (const op of ir.operations) {
        const v = mod.operationValidators[op.identifier]!;
        for (const [loc, fast, schema] of [['path', v.fastPath, v.path], ['query', v.fastQuery, v.query], ['header', v.fastHeaders, v.headers]] as const) {
          if (!fast) continue;
          const tally = differential(fast, schema, variants.all(paramsSchema(op, loc), []));
          expect(tally.bothAccept, `${op.identifier} ${loc}: nothing accepted`).toBeGreaterThan(0);
          expect(tally.bothRefuse, `${op.identifier} ${loc}: nothing refused`).toBeGreaterThan(5);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
    });
  }

  it('operations with the same parameters share one check instead of a copy each', () => {
    for (const { module } of SUBJECTS) {
      const bySource = new Map<string, unknown>();
      for (const v of Object.values(loaded[module]!.mod.operationValidators)) {
        for (const fast of [v.fastPath, v.fastQuery, v.fastHeaders, v.fastBody]) {
          if (!fast) continue;
          const source = String(fast);
          expect(bySource.get(source) ?? fast, `${module}: two copies of ${source.slice(0, 120)}`).toBe(fast);
          bySource.set(source, fast);
        }
      }
    }
    // This spec's many operations with an Idempotency-Key header: one function for all of them.
    const headers = Object.values(loaded.generated!.mod.operationValidators).map((v) => v.fastHeaders).filter(Boolean);
    expect(new Set(headers).size).toBeLessThan(headers.length / 2);
  });

  it("covers create_workflow's body and parameters, the bench's hot path", () => {
    const v = loaded.generated!.mod.operationValidators.create_workflow!;
    for (const check of [v.fastPath, v.fastQuery, v.fastHeaders, v.fastBody]) expect(check).toBeTypeOf('function');
  });
});

describe('what fast checks do not cover gets none', () => {
  it('every uncovered_* operation of the fixture has no fast check for it; every covered_* one has them', () => {
    const { ir, mod } = loaded['fast-checks']!;
    const names = ir.operations.map((op) => op.identifier);
    expect(names.filter((n) => n.startsWith('uncovered_')).length).toBeGreaterThanOrEqual(9);
    for (const name of names) {
      const v = mod.operationValidators[name]!;
      if (name === 'uncovered_coerced') expect(v.fastQuery, 'coerced query parameters').toBeUndefined();
      else if (name === 'covered_params') for (const check of [v.fastPath, v.fastQuery, v.fastHeaders]) expect(check, name).toBeTypeOf('function');
      else if (name.startsWith('uncovered_')) expect(v.fastBody, name).toBeUndefined();
      else expect(v.fastBody, name).toBeTypeOf('function');
    }
  });
});
