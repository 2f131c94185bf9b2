// @lavendly/framework and its apps (issue 12): the Lavendly app and the example apps use the
// framework only through its public entry points, by name ('@lavendly/framework',
// '@lavendly/framework/knex'), never its files by relative path or a deep import; and the
// framework knows nothing of any app: nothing under packages/framework imports the app's src/,
// handlers/ or generated/ code (its bin bundles the generator, which is no app).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve('.');
const FRAMEWORK = path.join(ROOT, 'packages', 'framework');
const PUBLIC = new Set(['@lavendly/framework', '@lavendly/framework/knex']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : tsFiles(p);
    return /\.(c|m)?tsx?$/.test(e.name) ? [p] : [];
  });
}

/** Every module specifier of a file: import/export ... from, import(), side-effect import. */
function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

function inside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** `file imports spec` for each specifier of each file that `bad` refuses. */
function violations(files: string[], bad: (spec: string, file: string) => boolean): string[] {
  return files.flatMap((file) => specifiers(readFileSync(file, 'utf8')).filter((s) => bad(s, file)).map((s) => `${path.relative(ROOT, file)} imports ${s}`));
}

const resolved = (spec: string, file: string) => path.resolve(path.dirname(file), spec);

describe('the framework and its apps', () => {
  it('finds imports in every form', () => {
    const text = "import a from '@lavendly/framework';\nexport { b } from \"../b.js\";\nconst c = await import('./c.js');\nimport './d.js';";
    expect(specifiers(text)).toEqual(['@lavendly/framework', '../b.js', './c.js', './d.js']);
  });

  it('the apps import the framework by its public names only', () => {
    const apps = ['src', 'handlers', 'examples'].flatMap((d) => tsFiles(path.join(ROOT, d)));
    expect(apps.length).toBeGreaterThan(100);
    const byPath = violations(apps, (s, file) => s.startsWith('.') && inside(resolved(s, file), FRAMEWORK));
    const deep = violations(apps, (s) => s.startsWith('@lavendly/framework') && !PUBLIC.has(s));
    expect([...byPath, ...deep]).toEqual([]);
    // The app's HTTP edge is a user of the framework, not a copy of it.
    expect(violations(apps, (s) => PUBLIC.has(s)).length).toBeGreaterThan(5);
  });

  it('nothing under packages/framework imports an app', () => {
    const own = tsFiles(FRAMEWORK);
    expect(own.length).toBeGreaterThan(5);
    const app = ['src', 'handlers', 'generated', 'examples'].map((d) => path.join(ROOT, d));
    expect(violations(own, (s, file) => s.startsWith('.') && app.some((d) => inside(resolved(s, file), d)))).toEqual([]);
  });
});
