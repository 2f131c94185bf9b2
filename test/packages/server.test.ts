/**
 * The server package's tarball (`npm pack` at the root): what runs the server and nothing else.
 * No tests, benchmarks, generator or scripts; every relative import of a packed file resolves to
 * a packed file (so the list cannot silently drop something the server loads).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, run } from '../helpers/packages.js';

describe('the server package tarball', () => {
  it('holds the runtime, not the tests, and every relative import is in it', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 60_000 });
    const files = new Set((JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    for (const f of ['bin/lavendly.mjs', 'src/cli/main.ts', 'generated/routes.gen.ts', 'migrations/index.ts', 'spec/openapi.yaml', 'README.md']) {
      expect(files, f).toContain(f);
    }
    const outside = [...files].filter((f) => /^(test|bench|scripts|generator|tmp|data)\//.test(f) || /\.(test|bench)\.[cm]?[jt]s$/.test(f));
    expect(outside).toEqual([]);

    const missing: string[] = [];
    for (const file of files) {
      if (!/\.(ts|mjs)$/.test(file)) continue;
      const text = await readFile(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!)).replace(/\.js$/, '.ts');
        if (!files.has(target) && !files.has(target.replace(/\.ts$/, '.js'))) missing.push(`${file} -> ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
