// The production build: tsc compiles the server (tsconfig.build.json) into dist/ (or --out DIR),
// then the two files the compiled code reads beside itself are copied in: package.json (its
// version) and spec/openapi.yaml (served at /v1/openapi.json and /docs). The result runs with
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
fs.chmodSync(path.join(out, 'src', 'cli', 'main.js'), 0o755);
console.log(`build: ${path.relative(root, out) || '.'} ready (node ${path.relative(root, path.join(out, 'src/cli/main.js'))} serve)`);
