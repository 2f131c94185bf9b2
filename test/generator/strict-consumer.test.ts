/**
 * Generated code compiles in a consumer project with the strictest flags tsc has beyond `strict`
 * (those of test/packages/sdk.test.ts, plus noUnusedParameters and NodeNext resolution), for
 * specs at the edges: none of its operations bound a string's length (so the fast checks never
 * call lv_cp), no operations at all, and the fixtures. Each of these broke a consumer build:
 * unused prelude helpers, an unused `handlers` parameter and `T` import, `details.issues` read
 * through an index signature, and `lv_fast_same[0]` (possibly undefined) given to `fastX?`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPECS, STRICTEST, generateInto, scratchDir, typecheck } from './helpers.js';

const info = { title: 'edge', version: '1' };
const EDGES = {
  'no-operations': { openapi: '3.0.3', info, paths: {}, components: { schemas: { Name: { type: 'string', minLength: 1 } } } },
  'no-length-bounds': {
    openapi: '3.1.0', info,
    paths: {
      '/things/{id}': {
        put: {
          operationId: 'putThing',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { name: { type: 'string' } } } } } },
          responses: { 204: { description: 'stored' } },
        },
      },
    },
  },
};

describe('generated code under a strict consumer tsconfig', () => {
  it('compiles for edge specs and the fixtures', { timeout: 300_000 }, async () => {
    const dirs: string[] = [];
    const root = scratchDir('strict-consumer');
    for (const [name, spec] of Object.entries(EDGES)) {
      const file = path.join(root, `${name}.json`);
      writeFileSync(file, JSON.stringify(spec));
      dirs.push(path.join(root, name));
      await generateInto(path.relative(process.cwd(), file), dirs.at(-1)!, { packages: path.join(root, `${name}-packages`) });
    }
    for (const name of ['petstore', 'reserved-names', 'feature-3.1', 'form-bodies']) {
      dirs.push(path.join(root, name));
      await generateInto(`${SPECS}/${name}.yaml`, dirs.at(-1)!, { packages: path.join(root, `${name}-packages`) });
    }
    const { ok, output } = typecheck(dirs, 'strict-consumer', STRICTEST);
    expect(output).toBe('');
    expect(ok).toBe(true);
  });
});
