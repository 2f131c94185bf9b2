// The production build: tsc compiles the server (tsconfig.build.json) into dist/ (or --out DIR),
// then the files the compiled code reads beside itself are copied in: package.json (its version),
// spec/openapi.yaml (served at /v1/openapi.json and /docs) and the package.json of each workspace
// package compiled along (packages/mcp, packages/framework), the framework's entry points under
// dist/node_modules, and the built web console (console/dist). The result runs with
// plain node: `node dist/src/cli/main.js serve`. The Dockerfile runs this same script.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = path.resolve(root, values.out ?? 'dist');

fs.rmSync(out, { recursive: true, force: true });
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', out], { cwd: root, stdio: 'inherit' });
fs.copyFileSync(path.join(root, 'package.json'), path.join(out, 'package.json'));
fs.mkdirSync(path.join(out, 'spec'), { recursive: true });
fs.copyFileSync(path.join(root, 'spec', 'openapi.yaml'), path.join(out, 'spec', 'openapi.yaml'));
// Workspace packages the server imports from source (packages/mcp/src) read their own package.json.
for (const name of fs.existsSync(path.join(out, 'packages')) ? fs.readdirSync(path.join(out, 'packages')) : []) {
  fs.copyFileSync(path.join(root, 'packages', name, 'package.json'), path.join(out, 'packages', name, 'package.json'));
}
// @lavendly/framework, which the server imports by name: tsc compiles its sources along (tsconfig
// paths) into dist/packages/framework/src but leaves the specifier as written, so plain node finds
// the package the way it finds any other, in dist/node_modules (inside the packed tarball too, and
// merged into the image's node_modules by the Dockerfile): a package.json whose entry points
// re-export the compiled sources.
const framework = path.join(out, 'node_modules', '@lavendly', 'framework');
const frameworkManifest = JSON.parse(fs.readFileSync(path.join(root, 'packages', 'framework', 'package.json'), 'utf8'));
const entries = { '.': 'index', './knex': 'knex' };
fs.mkdirSync(framework, { recursive: true });
fs.writeFileSync(path.join(framework, 'package.json'), `${JSON.stringify({
  name: frameworkManifest.name,
  version: frameworkManifest.version,
  private: true,
  type: 'module',
  exports: Object.fromEntries(Object.entries(entries).map(([subpath, name]) => [subpath, `./${name}.js`])),
}, null, 2)}\n`);
for (const name of Object.values(entries)) {
  if (!fs.existsSync(path.join(out, 'packages', 'framework', 'src', `${name}.js`))) throw new Error(`build: the framework's ${name}.js was not compiled`);
  fs.writeFileSync(path.join(framework, `${name}.js`), `export * from '../../../packages/framework/src/${name}.js';\n`);
}
// The web console (console/ -> console/dist, scripts/build-console.mjs), served from dist/console/dist.
if (fs.existsSync(path.join(root, 'console', 'index.html'))) {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build-console.mjs')], { cwd: root, stdio: 'inherit' });
  if (fs.existsSync(path.join(root, 'console', 'dist', 'index.html'))) {
    fs.cpSync(path.join(root, 'console', 'dist'), path.join(out, 'console', 'dist'), { recursive: true });
  }
}
fs.chmodSync(path.join(out, 'src', 'cli', 'main.js'), 0o755);
console.log(`build: ${path.relative(root, out) || '.'} ready (node ${path.relative(root, path.join(out, 'src/cli/main.js'))} serve)`);
