// `npm run build:console` (also the root `prepare` script, so `npm ci`/`npm install` run it): builds
// the web console (console/) into console/dist with Vite, which the server serves at /
// (src/http/console.ts). Skips with a note when there is nothing to build or no Vite (a
// production-only install, or the Docker build's first `npm ci`, before console/ is copied in).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'console');
if (!fs.existsSync(path.join(dir, 'index.html'))) {
  console.log('build:console: no console/ here, nothing to build');
  process.exit(0);
}
let vite;
try {
  vite = await import('vite');
} catch {
  console.log('build:console: Vite is not installed (production-only install); the console is not built');
  process.exit(0);
}
const started = Date.now();
await vite.build({ configFile: path.join(dir, 'vite.config.ts'), logLevel: 'warn' });
console.log(`build:console: console/dist ready in ${Date.now() - started} ms`);
