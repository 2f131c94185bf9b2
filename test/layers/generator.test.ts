// The generator's layers (docs/ARCHITECTURE.md): every module in generator/emitters/ is one artifact's
// emitter (registry.ts lists them) and none imports another, so an emitter can change or go without
// touching the rest. What two emitters share lives below them, in generator/shared/ (or schema/, or
// the IR), and nothing below imports an emitter.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { registry } from '../../generator/emitters/registry.js';

const GENERATOR = path.resolve('generator');
const EMITTERS = path.join(GENERATOR, 'emitters');
const REGISTRY = path.join(EMITTERS, 'registry.ts');
const BELOW = ['shared', 'schema'].map((d) => path.join(GENERATOR, d));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/**
 * The relative modules a file imports (import/export ... from, import(), side-effect imports), resolved.
 * TypeScript's own scanner: an import spelled inside a comment or a string of generated code is none.
 */
function specifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('.'));
}

function imports(file: string): string[] {
  return specifiers(readFileSync(file, 'utf8')).map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
}

const inside = (file: string, dir: string) => !path.relative(dir, file).startsWith('..');

describe('generator layers', () => {
  it('generator/emitters/ holds the registered emitters and the registry, nothing else', () => {
    const modules = readdirSync(EMITTERS).filter((f) => f.endsWith('.ts')).sort();
    expect(modules).toEqual([...registry.map((e) => `${e.name}.ts`), 'registry.ts'].sort());
  });

  it('sees every form of import, and none in comments or strings', () => {
    const text = "import a from './a.js';\nexport { b } from '../b.js';\nconst c = await import('./c.js');\nimport './d.js';\nimport z from 'zod';\n// from './e.js'\nconst f = \"import g from './g.js'\";";
    expect(specifiers(text)).toEqual(['./a.js', '../b.js', './c.js', './d.js']);
  });

  it('no emitter imports another emitter', () => {
    const emitters = tsFiles(EMITTERS).filter((f) => f !== REGISTRY);
    expect(emitters.length).toBe(registry.length);
    const violations = emitters.flatMap((file) =>
      imports(file)
        .filter((target) => inside(target, EMITTERS))
        .map((target) => `${path.relative(GENERATOR, file)} imports ${path.relative(GENERATOR, target)}`),
    );
    expect(violations).toEqual([]);
  });

  it('nothing below the emitters imports one', () => {
    const below = BELOW.flatMap(tsFiles);
    expect(below.length).toBeGreaterThan(5);
    const violations = below.flatMap((file) =>
      imports(file)
        .filter((target) => inside(target, EMITTERS))
        .map((target) => `${path.relative(GENERATOR, file)} imports ${path.relative(GENERATOR, target)}`),
    );
    expect(violations).toEqual([]);
  });
});
