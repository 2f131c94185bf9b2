// The production build: tsc compiles the server (tsconfig.build.json) into dist/ (or --out DIR),
// then the files the compiled code reads beside itself are copied in: package.json (its version),
// spec/openapi.yaml (served at /v1/openapi.json and /docs) and the package.json of each workspace
// package compiled along (packages/mcp), and the built web console (console/dist). The result runs with
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
// The web console (console/ -> console/dist, scripts/build-console.mjs), served from dist/console/dist.
if (fs.existsSync(path.join(root, 'console', 'index.html'))) {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build-console.mjs')], { cwd: root, stdio: 'inherit' });
  if (fs.existsSync(path.join(root, 'console', 'dist', 'index.html'))) {
    fs.cpSync(path.join(root, 'console', 'dist'), path.join(out, 'console', 'dist'), { recursive: true });
  }
}
fs.chmodSync(path.join(out, 'src', 'cli', 'main.js'), 0o755);
console.log(`build: ${path.relative(root, out) || '.'} ready (node ${path.relative(root, path.join(out, 'src/cli/main.js'))} serve)`);
