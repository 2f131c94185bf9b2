/**
 * The server package's tarball (`npm pack` at the root, whose prepack step compiles dist/): the
 * compiled server and nothing else. No TypeScript sources (an installed package has no tsx), no
 * tests, benchmarks, generator or scripts; every relative import of a packed file resolves to a
 * packed file (so the list cannot silently drop something the server loads).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from '../helpers/packages.js';

describe('the server package tarball', () => {
  it('holds the runtime, not the tests, and every relative import is in it', { timeout: 240_000 }, async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT, timeout: 180_000 });
    const files = new Set((JSON.parse(stdout.slice(stdout.indexOf('[\n'))) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    for (const f of [manifest.bin['lavendly']!, 'dist/generated/routes.gen.js', 'dist/migrations/index.js', 'dist/spec/openapi.yaml', 'README.md']) {
      expect(files, f).toContain(f);
    }
    const outside = [...files].filter((f) => !/^dist\//.test(f) ? !['README.md', 'package.json'].includes(f) : /^dist\/(test|bench|scripts|generator)\//.test(f) || /\.ts$/.test(f));
    expect(outside).toEqual([]);

    const missing: string[] = [];
    for (const file of files) {
      if (!/\.(js|mjs)$/.test(file)) continue;
      const text = await readFile(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!));
        if (!files.has(target)) missing.push(`${file} -> ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
