// The app's layers (docs/ARCHITECTURE.md): domain folders under src/ know nothing of HTTP, so no
// module there may import src/http. Only the edges may: the HTTP layer itself, the CLI, the
// composition root (src/app), the MCP server's HTTP mount and the telemetry wiring. Scans every
// import and export-from specifier, static or dynamic, and resolves it against the importing file.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve('src');
const HTTP = path.join(SRC, 'http');
const EDGES = ['http', 'cli', 'app', 'mcp', 'telemetry'].map((d) => path.join(SRC, d));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : /\.(c|m)?ts$/.test(e.name) ? [p] : [];
  });
}

/** Every relative module specifier of a file: import/export ... from, import(), side-effect import. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) out.push(m[1]!);
  return out.filter((s) => s.startsWith('.'));
}

function inside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

describe('layers', () => {
  it('finds imports in every form', () => {
    const text = "import a from './a.js';\nexport { b } from \"../b.js\";\nconst c = await import('./c.js');\nimport './d.js';\nimport x from 'koa';";
    expect(specifiers(text)).toEqual(['./a.js', '../b.js', './c.js', './d.js']);
  });

  it('no domain module under src/ imports src/http', () => {
    const domain = tsFiles(SRC).filter((f) => !EDGES.some((edge) => inside(f, edge)));
    expect(domain.length).toBeGreaterThan(50);
    const violations = domain.flatMap((file) =>
      specifiers(readFileSync(file, 'utf8'))
        .filter((s) => inside(path.resolve(path.dirname(file), s), HTTP))
        .map((s) => `${path.relative(SRC, file)} imports ${s}`),
    );
    expect(violations).toEqual([]);
  });
});
