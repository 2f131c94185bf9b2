/**
 * What to tell the author of a one-file spec whose schema recurses through a ref that is not a
 * component (`#/components/schemas/A/properties/b` or `#/paths/...` reaching itself).
 * Such schemas are not hoisted into components as bundled ones are (bundle-cycles.ts): there the
 * bundler chose where a file's schema landed, here the author did, and a component is a public
 * name (a type of the SDK, a Python class) that the author should pick, not one derived from a
 * property name that changes when the property is renamed. So the error names the fix instead.
 */
import { pointerUnescape, toPascal } from './names.js';
import { SCHEMA_ARRAY_VALUED, SCHEMA_MAP_VALUED, SCHEMA_VALUED } from './ir-schema.js';

/** Segments that say where a schema sits, not what it is. */
const PLACES = [
  'paths', 'components', 'schemas', 'schema', 'content', 'responses', 'requestBody', 'parameters', 'headers',
  'get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace', 'default',
];

/** A free component name for the schema at `pointer`: its last meaningful segment, in PascalCase. */
function suggestComponentName(pointer: string, taken: Set<string>): string {
  // Built here, not at load: ir-schema.ts imports this module.
  const structural = new Set([...PLACES, ...SCHEMA_VALUED, ...SCHEMA_MAP_VALUED, ...SCHEMA_ARRAY_VALUED]);
  const segs = pointer.split('/').slice(1).map(pointerUnescape);
  const meaningful = segs.filter((s) => !structural.has(s) && !/^\d+$/.test(s) && !/^[\w.+-]+\/[\w.+*-]+$/.test(s)).map(toPascal);
  const base = meaningful.at(-1) ?? 'Schema';
  const candidates = [base, ...(meaningful.length > 1 ? [meaningful.at(-2)! + base] : [])];
  const free = candidates.find((c) => !taken.has(c));
  if (free) return free;
  for (let i = 2; ; i++) if (!taken.has(`${base}${i}`)) return `${base}${i}`;
}

export function cycleAdvice(ref: string, pointer: string, taken: Set<string>): string {
  const name = suggestComponentName(pointer, taken);
  return (
    `circular $ref "${ref}": the schema at ${pointer} refers back to itself, and only a component can ` +
    `(the generator inlines every other ref). Move that schema to #/components/schemas/${name} ` +
    `(or another free name) and refer to it as "#/components/schemas/${name}", here and where it was`
  );
}
