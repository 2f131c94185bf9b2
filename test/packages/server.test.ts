/**
 * The server package's tarball (`npm pack` at the root, whose prepack step compiles dist/): the
 * compiled server and nothing else. No TypeScript sources (an installed package has no tsx), no
 * tests, benchmarks, generator or scripts; every relative import of a packed file resolves to a
 * packed file (so the list cannot silently drop something the server loads). Unpacked outside the
 * repository, with its dependencies beside it as npm would install them, the server's modules load
 * with plain node: @lavendly/framework, which the server imports by name, travels inside the tarball.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, run } from '../helpers/packages.js';
import { importedPackages } from '../helpers/js-imports.js';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'lvd-server-tgz-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('the server package tarball', () => {
  it('holds the runtime, not the tests, and every import is in it or a dependency', { timeout: 300_000 }, async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: ROOT, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('[\n'))) as { filename: string; files: { path: string }[] }[];
    const files = new Set(packed!.files.map((f) => f.path));
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> };
    for (const f of [manifest.bin['lavendly']!, 'dist/generated/routes.gen.js', 'dist/migrations/index.js', 'dist/spec/openapi.yaml', 'README.md',
      'dist/node_modules/@lavendly/framework/package.json', 'dist/packages/framework/src/index.js', 'dist/packages/framework/src/knex.js']) {
      expect(files, f).toContain(f);
    }
    const outside = [...files].filter((f) => !/^dist\//.test(f) ? !['README.md', 'package.json'].includes(f) : /^dist\/(test|bench|scripts|generator)\//.test(f) || /\.ts$/.test(f));
    expect(outside).toEqual([]);

    const missing: string[] = [];
    const bare = new Set<string>();
    for (const file of files) {
      if (!/\.(js|mjs)$/.test(file)) continue;
      const text = await readFile(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1]!));
        if (!files.has(target)) missing.push(`${file} -> ${m[1]}`);
      }
      for (const name of importedPackages(text)) bare.add(name);
    }
    expect(missing).toEqual([]);
    // Every package a packed file imports is a dependency, or packed under dist/node_modules.
    expect([...bare].filter((name) => !(name in manifest.dependencies) && !files.has(`dist/node_modules/${name}/package.json`))).toEqual([]);
    expect(bare).toContain('@lavendly/framework');

    // Installed as npm would: the package under node_modules/lavendly and its dependencies beside
    // it (linked from this checkout, which has no @lavendly/framework of its own).
    const modules = path.join(scratch, 'app', 'node_modules');
    await mkdir(path.join(modules, 'lavendly'), { recursive: true });
    await run('tar', ['-xzf', path.join(scratch, packed!.filename), '-C', path.join(modules, 'lavendly'), '--strip-components=1']);
    for (const name of await readdir(path.join(ROOT, 'node_modules'))) {
      if (name.startsWith('.') || name === '@lavendly') continue;
      await symlink(path.join(ROOT, 'node_modules', name), path.join(modules, name));
    }
    const probe = [
      "const app = await import('lavendly/dist/src/http/app.js');",
      "const fw = await import('lavendly/dist/node_modules/@lavendly/framework/index.js');",
      "const errors = await import('lavendly/dist/src/http/errors.js');",
      // The app's errors are the framework's (one copy of the module): the envelope knows them.
      "const e = new errors.ApiError('conflict', 'taken');",
      "console.log(JSON.stringify({ createApp: typeof app.createApp, runtime: typeof fw.createRuntime, same: e instanceof fw.ApiError, status: fw.toApiError(e).status }));",
    ].join('\n');
    const loaded = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: path.join(scratch, 'app'), env: { ...process.env, NODE_OPTIONS: '' } });
    expect(JSON.parse(loaded.stdout)).toEqual({ createApp: 'function', runtime: 'function', same: true, status: 409 });
    // The knex entry point resolves by name from inside the package, as the server's own files would.
    const knex = await run(process.execPath, ['--input-type=module', '-e', "const k = await import('@lavendly/framework/knex'); console.log(typeof k.KnexIdempotencyStore);"],
      { cwd: path.join(modules, 'lavendly', 'dist'), env: { ...process.env, NODE_OPTIONS: '' } });
    expect(knex.stdout.trim()).toBe('function');
  });
});
