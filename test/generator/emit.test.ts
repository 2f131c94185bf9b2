/**
 * Every fixture through every emitter: the output type-checks (strict), is deterministic, matches
 * the committed petstore snapshot, and `--check` notices drift and stale files.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate } from '../../generator/cli.js';
import { SPECS, generateInto, scratchDir, typecheck } from './helpers.js';

const FIXTURES = ['petstore', 'feature-3.0', 'feature-3.1'];
const ALL = ['types.gen.ts', 'validators.gen.ts', 'routes.gen.ts', 'handlers.gen.ts', 'catalog.gen.ts', 'mcp.gen.ts', 'sdk.gen.ts'];

describe('emitters on the fixtures', () => {
  it('writes all seven artifacts for every fixture, and the output type-checks', { timeout: 300_000 }, async () => {
    const dirs: string[] = [];
    for (const name of FIXTURES) {
      const dir = scratchDir(`emit-${name}`);
      const result = await generateInto(`${SPECS}/${name}.yaml`, dir);
      expect(result.files.map((f) => f.file)).toEqual(expect.arrayContaining(ALL));
      expect(readdirSync(dir).sort()).toEqual(result.files.map((f) => f.file).sort());
      for (const f of result.files) expect(f.text.split('\n').slice(0, 8).join('\n')).toMatch(/sha256: [0-9a-f]{64}/);
      dirs.push(dir);
    }
    const { ok, output } = typecheck(dirs, 'fixtures');
    expect(output).toBe('');
    expect(ok).toBe(true);
  });

  it('is deterministic: two runs give the same bytes', async () => {
    const a = await generateInto(`${SPECS}/feature-3.0.yaml`, scratchDir('det-a'));
    const b = await generateInto(`${SPECS}/feature-3.0.yaml`, scratchDir('det-b'));
    const strip = (t: string) => t.replace(/^(\/\/ )?Regenerate: .*$/m, ''); // names the out dir (code banner or Markdown comment)
    expect(b.files.map((f) => [f.file, strip(f.text)])).toEqual(a.files.map((f) => [f.file, strip(f.text)]));
  });

  it('matches the petstore snapshot', async () => {
    const dir = scratchDir('snapshot');
    const result = await generateInto(`${SPECS}/petstore.yaml`, dir, { only: ['types', 'validators', 'routes', 'handlers'] });
    for (const f of result.files) {
      const text = f.text.replace(/^\/\/ Regenerate: .*$/m, '// Regenerate: (out dir varies)');
      await expect(text).toMatchFileSnapshot(`__snapshots__/petstore/${f.file}.snap`);
    }
  });

  it('--check reports changed, missing and stale files and writes nothing', async () => {
    const dir = scratchDir('check');
    const spec = `${SPECS}/petstore.yaml`;
    await generateInto(spec, dir);
    expect((await generateInto(spec, dir, { check: true })).drifted).toEqual([]);

    writeFileSync(path.join(dir, 'types.gen.ts'), readFileSync(path.join(dir, 'types.gen.ts'), 'utf8') + '\n// edited\n');
    writeFileSync(path.join(dir, 'old.gen.ts'), '// an artifact no emitter makes any more\n');
    const check = await generateInto(spec, dir, { check: true });
    expect(check.drifted.sort()).toEqual(['old.gen.ts', 'types.gen.ts']);
    expect(readFileSync(path.join(dir, 'types.gen.ts'), 'utf8')).toMatch(/\/\/ edited\n$/);

    await generateInto(spec, dir);
    expect(readdirSync(dir)).not.toContain('old.gen.ts');
    expect((await generateInto(spec, dir, { check: true })).drifted).toEqual([]);
  });

  it('a missing or mistyped handler is a compile error that names the handler', { timeout: 300_000 }, async () => {
    const dir = scratchDir('handlers-tsc');
    await generateInto(`${SPECS}/petstore.yaml`, dir, { only: ['types', 'validators', 'routes', 'handlers'] });
    const good = `import type { Handlers } from './handlers.gen';
export const good = {
  pets: {
    listPets: async (input) => ({ status: 200, body: [{ id: input.query.limit ?? 1, name: 'rex' }] }),
    createPets: async () => ({ status: 201 }),
    showPetById: async (input) => ({ status: 200, body: { id: Number(input.path.petId), name: 'x' } }),
  },
} satisfies Handlers<unknown>;
`;
    writeFileSync(path.join(dir, 'good.ts'), good);
    writeFileSync(path.join(dir, 'mistyped.ts'), good.replace(/good/g, 'mistyped').replace("name: 'rex'", 'name: 42'));
    writeFileSync(path.join(dir, 'missing.ts'), good.replace(/good/g, 'missing').replace(/ {4}createPets.*\n/, ''));
    const { output } = typecheck([dir], 'handlers');
    expect(output).not.toContain('good.ts');
    expect(output).toMatch(/mistyped\.ts\(4,\d+\): error TS2322: [^]*Types of property 'name' are incompatible/);
    expect(output).toMatch(/missing\.ts\(3,\d+\): error TS2741: Property 'createPets' is missing/);
  });

  it('the committed generated/ matches spec/openapi.yaml (npm run generate -- --check)', async () => {
    const check = await generate({ check: true });
    expect(check.drifted, 'run `npm run generate`').toEqual([]);
  });

  it('changing one schema changes only the files that depend on it', async () => {
    const dir = scratchDir('dep');
    const specDir = scratchDir('dep-spec');
    const original = readFileSync(`${SPECS}/petstore.yaml`, 'utf8');
    const specPath = path.relative(process.cwd(), path.join(specDir, 'petstore.yaml'));
    writeFileSync(specPath, original);
    const before = await generateInto(specPath, dir);
    writeFileSync(specPath, original.replace('        tag:\n          type: string', '        tag:\n          type: string\n          maxLength: 20'));
    const after = await generateInto(specPath, dir);
    // The banner's hash changes everywhere; beyond it, types are unchanged and validators are not.
    const body = (files: typeof before.files, name: string) => files.find((f) => f.file === name)!.text.replace(/^\/\/ sha256: .*$/m, '');
    expect(body(after.files, 'types.gen.ts')).toBe(body(before.files, 'types.gen.ts'));
    expect(body(after.files, 'validators.gen.ts')).not.toBe(body(before.files, 'validators.gen.ts'));
    expect(body(after.files, 'validators.gen.ts')).toContain('.max(20)');
  });
});
