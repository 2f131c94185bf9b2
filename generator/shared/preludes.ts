/**
 * The fixed code that generated files carry (helpers, runtime types) lives in real modules under
 * generator/templates/preludes/, type-checked with the repository like the SDK runtime. Each marks
 * what an emitter copies with `// #region <name>` ... `// #endregion`; the rest of the module only
 * declares what the generated file provides around those blocks, so that tsc can check them.
 * The folder ships in the framework package beside dist/ (scripts/build-packages.ts).
 */
import { readFileSync } from 'node:fs';

const PRELUDE_DIR = new URL('../templates/preludes/', import.meta.url);
const REGION = /^\/\/ #region ([\w-]+)\n([\s\S]*?)\n?^\/\/ #endregion$/gm;

const cache = new Map<string, Map<string, string>>();

/** Every region of a prelude module, by name. */
export function preludeRegions(module: string): Map<string, string> {
  let regions = cache.get(module);
  if (!regions) {
    const text = readFileSync(new URL(module, PRELUDE_DIR), 'utf8').replace(/\r\n/g, '\n');
    regions = new Map([...text.matchAll(REGION)].map((m) => [m[1]!, m[2]!]));
    cache.set(module, regions);
  }
  return regions;
}

/** The text of one region (without its marker lines and final newline); throws when it is missing. */
export function prelude(module: string, region: string): string {
  const text = preludeRegions(module).get(region);
  if (text === undefined) throw new Error(`generator/templates/preludes/${module} has no "// #region ${region}"`);
  return text;
}
