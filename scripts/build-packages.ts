/**
 * `npm run build:packages [-- sdk mcp]`: builds the publishable packages under packages/ from the
 * generated sources (run `npm run generate` first when the spec changed).
 *   packages/sdk  @lavendly/sdk: generated/sdk.gen.ts (+ runtime, types) -> ESM + CommonJS + .d.ts/.d.cts,
 *                 no dependencies; generated/sdk-api.gen.md -> api.md. The JS is minified except for
 *                 names (stack traces stay readable); the declarations are not. Not `keepNames`: its
 *                 `__name(...)` calls are side effects that keep every function in a user's bundle
 *                 (the download functions in one that never downloads); each error class writes
 *                 out its `name` instead (errors.ts).
 *   packages/mcp  @lavendly/mcp: packages/mcp/src/cli.ts -> dist/cli.js (ESM, the bin), with the generated
 *                 tool table bundled in and every import of the generated SDK pointed at @lavendly/sdk
 *                 (so tool errors are the SDK's own classes); its dependencies stay external.
 *   packages/framework  @lavendly/framework: the run-time library (src/index.ts, src/knex.ts -> ESM + .d.ts,
 *                 one shared chunk so `instanceof ApiError` holds across entries) and the `lavendly-framework`
 *                 bin (src/cli.ts with generator/ bundled in; generator/templates (SDK and Python runtimes,
 *                 the preludes of the generated files) copied beside dist).
 * Output goes to packages/<name>/dist (git-ignored); `npm pack packages/<name>` then packs it.
 */
import { copyFile, cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Options } from 'tsup';
import type { Plugin } from 'esbuild';

const ROOT = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const at = (...parts: string[]) => path.join(ROOT, ...parts);

/** What every package build shares: no source maps, no minification (readable in node_modules). */
const common: Options = {
  config: false,
  silent: true,
  target: 'es2022',
  splitting: false,
  sourcemap: false,
  treeshake: false,
  tsconfig: at('tsconfig.json'),
};

async function buildSdk(): Promise<void> {
  const outDir = at('packages/sdk/dist');
  await rm(outDir, { recursive: true, force: true });
  await build({
    ...common,
    entry: { index: at('generated/sdk.gen.ts') },
    format: ['esm', 'cjs'],
    platform: 'neutral',
    outDir,
    minifyWhitespace: true,
    minifySyntax: true,
    dts: { entry: { index: at('generated/sdk.gen.ts') } },
  });
  // The declarations once, in index.d.cts (CommonJS, for `require`); index.d.ts (ESM, for `import`)
  // re-exports them, which an ES module may do from a CommonJS one. Half the install size.
  await writeFile(path.join(outDir, 'index.d.ts'), "export * from './index.cjs';\n");
  await copyFile(at('generated/sdk-api.gen.md'), at('packages/sdk/api.md'));
}

/** `../../../generated/sdk.gen.js` (or the runtime) in the checkout -> `@lavendly/sdk` in the package. */
const generatedSdkToPackage: Plugin = {
  name: 'generated-sdk-to-package',
  setup(b) {
    b.onResolve({ filter: /\/generated\/sdk(-runtime[\w-]*)?\.gen\.js$/ }, () => ({ path: '@lavendly/sdk', external: true }));
  },
};

async function buildMcp(): Promise<void> {
  const outDir = at('packages/mcp/dist');
  await rm(outDir, { recursive: true, force: true });
  await build({
    ...common,
    entry: { cli: at('packages/mcp/src/cli.ts') },
    format: ['esm'],
    platform: 'node',
    outDir,
    // Only the package's declared dependencies are left to npm; nothing else of the server comes along.
    external: ['@lavendly/sdk', /^@modelcontextprotocol\/sdk(\/|$)/, /^ajv(\/|$)/, 'ajv-formats'],
    noExternal: [/generated\/mcp\.gen/],
    esbuildPlugins: [generatedSdkToPackage],
  });
}

async function buildFramework(): Promise<void> {
  const pkgDir = at('packages/framework');
  const outDir = path.join(pkgDir, 'dist');
  await rm(outDir, { recursive: true, force: true });
  const pkg = JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
  // Every declared dependency (and its subpaths) stays external; zod is the user's (generated validators import it).
  const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies), 'zod'].map((d) => new RegExp(`^${d.replace(/[/.]/g, '\\$&')}(/|$)`));
  await build({
    ...common,
    entry: { index: path.join(pkgDir, 'src/index.ts'), knex: path.join(pkgDir, 'src/knex.ts') },
    format: ['esm'],
    platform: 'node',
    outDir,
    splitting: true,
    external,
    dts: { entry: { index: path.join(pkgDir, 'src/index.ts'), knex: path.join(pkgDir, 'src/knex.ts') } },
  });
  await build({ ...common, entry: { cli: path.join(pkgDir, 'src/cli.ts') }, format: ['esm'], platform: 'node', outDir, external });
  // The emitters read these at run time, relative to dist/cli.js (`../templates/...`).
  await rm(path.join(pkgDir, 'templates'), { recursive: true, force: true });
  await cp(at('generator/templates'), path.join(pkgDir, 'templates'), { recursive: true });
}

const builders: Record<string, () => Promise<void>> = { sdk: buildSdk, mcp: buildMcp, framework: buildFramework };

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(builders);
for (const name of wanted) {
  const run = builders[name];
  if (!run) throw new Error(`unknown package '${name}' (known: ${Object.keys(builders).join(', ')})`);
  const started = performance.now();
  await run();
  console.log(`built packages/${name} in ${Math.round(performance.now() - started)} ms`);
}
