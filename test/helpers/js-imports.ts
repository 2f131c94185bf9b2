/**
 * The packages a compiled JavaScript file imports by name (bare specifiers, `node:` left out),
 * reduced to the package name (`@scope/name` or `name`). Static imports start a line in tsc's
 * output, so a string holding sample code does not count, nor does an exported constant holding
 * SQL (`export const X = sql('select ... from "t"')`).
 */
const BINDINGS = String.raw`(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\}|[\w$]+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+[\w$]+))?)`;
const FROM_CLAUSE = new RegExp(String.raw`^(?:import|export)\s+${BINDINGS}\s*from\s*['"]([^'".][^'"]*)['"]`, 'gm');
const SIDE_EFFECT = /^import\s*['"]([^'".][^'"]*)['"]/gm;
const DYNAMIC = /(?<![\w'"\\])import\(\s*['"]([^'".][^'"]*)['"]\s*\)/g;

export function importedPackages(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of [...text.matchAll(FROM_CLAUSE), ...text.matchAll(SIDE_EFFECT), ...text.matchAll(DYNAMIC)]) {
    const spec = m[1]!;
    if (spec.startsWith('node:')) continue;
    out.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
  }
  return out;
}
