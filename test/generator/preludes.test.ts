// The fixed code of the generated files lives in real modules (generator/templates/preludes/*.ts),
// type-checked with the repository; the emitters copy their `// #region` blocks. Every region must
// reach its generated file verbatim, and none of the scaffolding around the regions may.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { preludeRegions } from '../../generator/shared/preludes.js';
import { generateInto, ROOT, SPECS, scratchDir } from './helpers.js';

const PRELUDES = path.join(ROOT, 'generator', 'templates', 'preludes');
/** Prelude module -> the generated file its regions go to. */
const TARGET: Record<string, string> = {
  'validators.ts': 'validators.gen.ts',
  'routes.ts': 'routes.gen.ts',
  'mcp.ts': 'mcp.gen.ts',
  'catalog.ts': 'catalog.gen.ts',
};

describe('runtime preludes', () => {
  it('every prelude module has a target and at least one region', () => {
    const modules = readdirSync(PRELUDES).filter((f) => f.endsWith('.ts')).sort();
    expect(modules).toEqual(Object.keys(TARGET).sort());
    for (const m of modules) expect(preludeRegions(m).size, m).toBeGreaterThan(0);
  });

  it('each region reaches its generated file verbatim; the lines outside regions do not', async () => {
    const out = scratchDir('preludes');
    const { files } = await generateInto(path.join(SPECS, 'petstore.yaml'), out);
    for (const [module, target] of Object.entries(TARGET)) {
      const text = files.find((f) => f.file === target)!.text;
      const source = readFileSync(path.join(PRELUDES, module), 'utf8');
      for (const [name, region] of preludeRegions(module)) {
        expect(region.length, `${module} #region ${name}`).toBeGreaterThan(50);
        expect(text.includes(region), `${target} carries ${module} #region ${name}`).toBe(true);
      }
      expect(text).not.toContain('#region');
      expect(text).not.toContain('#endregion');
      // The module's own header comment is scaffolding, not part of the generated file.
      const header = source.slice(0, source.indexOf('*/') + 2);
      expect(text.includes(header)).toBe(false);
    }
  });
});
