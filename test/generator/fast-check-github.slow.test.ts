/**
 * The fast-check differential (fast-check-differential.ts) on GitHub's REST description: ~300
 * request bodies and ~3,000 parameter locations with fast checks, ~400,000 inputs. Slow to
 * generate, so it runs only with LAVENDLY_SLOW=1 (vitest.config.ts; CI sets it).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildIr } from '../../generator/ir.js';
import { BodyVariants } from './body-variants.js';
import { differential, paramsSchema, type Module } from './fast-check-differential.js';
import { generateInto, scratchDir } from './helpers.js';

const GITHUB = 'node_modules/@octokit/openapi/generated/api.github.com.json';

describe("fast checks on GitHub's REST description", () => {
  it('agree with zod on every body and parameter location that has one', { timeout: 900_000 }, async () => {
    const dir = scratchDir('fast-check-github');
    await generateInto(GITHUB, dir, { only: ['validators'] });
    const { operationValidators } = (await import(pathToFileURL(path.join(dir, 'validators.gen.ts')).href)) as Module;
    const ir = await buildIr(GITHUB);
    const variants = new BodyVariants(ir);
    let bodies = 0;
    let locations = 0;
    let accepted = 0;
    for (const op of ir.operations) {
      const v = operationValidators[op.identifier]!;
      if (v.fastBody) {
        const first = op.requestBody!.contents[0]!;
        accepted += differential(v.fastBody, v.body, variants.all(first.schema, first.examples)).bothAccept;
        bodies++;
      }
      for (const [loc, fast, schema] of [['path', v.fastPath, v.path], ['query', v.fastQuery, v.query], ['header', v.fastHeaders, v.headers]] as const) {
        if (!fast) continue;
        accepted += differential(fast, schema, variants.all(paramsSchema(op, loc), [])).bothAccept;
        locations++;
      }
    }
    expect(bodies).toBeGreaterThan(100);
    expect(locations).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(10_000);
  });
});
