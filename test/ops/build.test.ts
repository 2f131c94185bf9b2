// The production build as the Dockerfile makes it: the files its build stage COPYs (and nothing
// else) staged in a directory of their own, then `npm run build` there. The result must start
// with plain node, outside the checkout, with tsx unable to load, migrate a new database, and
// answer /readyz and the API. (No container engine runs here; this is the image's build, minus Docker.)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/server.js';
import { importedPackages } from '../helpers/js-imports.js';

const root = path.resolve(import.meta.dirname, '../..');
// Inside the repository, so the compiled files find node_modules the way dist/ does.
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-stage-'));
const out = path.join(stage, 'dist');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-built-'));
let child: ReturnType<typeof spawn> | null = null;

afterAll(() => {
  child?.kill('SIGKILL');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.rmSync(scratch, { recursive: true, force: true });
});

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('the compiled server', () => {
  it('builds, then serves from dist with plain node: /readyz and an API call, no tsx', async () => {
    const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^RUN npm run build\b/m);
    for (const m of dockerfile.slice(0, dockerfile.indexOf('RUN npm run build')).matchAll(/^COPY (?!--)(.+)$/gm)) {
      const parts = m[1]!.trim().split(/\s+/);
      const dst = parts.pop()!;
      for (const src of parts) {
        const target = parts.length > 1 || dst.endsWith('/') ? path.join(stage, dst, path.basename(src)) : path.join(stage, dst);
        fs.cpSync(path.join(root, src), target, { recursive: true });
      }
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules')); // what `npm ci` installs
    execFileSync('npm', ['run', 'build'], { cwd: stage, stdio: 'pipe' });
    const main = path.join(out, 'src/cli/main.js');
    const js = files(out).filter((f) => f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(100);
    expect(js.filter((f) => /from ['"]tsx|import\(['"]tsx|\.ts['"]\)?;?$/m.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(out, f))).toEqual([]);

    // `npm prune --omit=dev` (the Dockerfile) keeps only dependencies: nothing compiled may need more.
    const deps = new Set(Object.keys(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies));
    const needed = new Set<string>();
    for (const f of js) {
      for (const name of importedPackages(fs.readFileSync(f, 'utf8'))) needed.add(name);
    }
    expect([...needed]).toEqual(expect.arrayContaining(['koa', 'knex', 'pino', 'pino-pretty', '@lavendly/framework']));
    // The build's own packages (the framework, which the server imports by name) come along in
    // dist/node_modules, with entry points that re-export compiled files of dist.
    const bundled = new Set(['@lavendly/framework'].filter((n) => fs.existsSync(path.join(out, 'node_modules', n, 'package.json'))));
    expect([...needed].filter((n) => !deps.has(n) && !bundled.has(n))).toEqual([]);

    // A resolve hook that refuses tsx: any attempt to load it at run time fails the start.
    const forbid = path.join(scratch, 'forbid-tsx.mjs');
    fs.writeFileSync(forbid, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(
      'export async function resolve(s, c, next) { if (/^tsx(\\\\/|$)/.test(s) || s.endsWith(".ts")) throw new Error("loaded at run time: " + s); return next(s, c); }'));\n`);
    // The package's bin is a link to main.js, as npm installs it.
    const link = path.join(scratch, 'lavendly');
    fs.symlinkSync(main, link);
    expect(execFileSync(link, ['--version'], { cwd: scratch }).toString().trim()).toBe(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);

    child = spawn(process.execPath, ['--import', forbid, link, 'serve', '--port', '0'], {
      cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LAVENDLY_DATA_DIR: path.join(scratch, 'data'), DATABASE_URL: '', HOST: '127.0.0.1', NODE_OPTIONS: '' },
    });
    let output = '';
    const ready = new Promise<{ origin: string; key: string }>((resolve, reject) => {
      const check = () => {
        const origin = output.match(/listening on (http:\/\/[^\s"]+)/)?.[1];
        const key = output.match(/export LAVENDLY_API_KEY=(\S+)/)?.[1];
        if (origin && key) resolve({ origin, key });
      };
      child!.stdout!.on('data', (d) => { output += String(d); check(); });
      child!.stderr!.on('data', (d) => { output += String(d); check(); });
      child!.on('exit', (code) => reject(new Error(`the built server exited (${code}):\n${output}`)));
    });
    const { origin, key } = await ready;
    expect((await call(`${origin}/readyz`)).json).toEqual({ status: 'ready', database: 'up', draining: false });
    const created = await call(`${origin}/v1/workflows`, { key, body: { name: 'Built', shots: [{ prompt: 'a fox', duration_s: 5 }] } });
    expect(created.status).toBe(201);
    expect((await call(`${origin}/v1/workflows/${created.json.id}`, { key })).json.name).toBe('Built');
    expect((await call(`${origin}/v1/openapi.json`)).json.openapi).toBe('3.1.0');
    // The web console, built by the same script and served from dist/console/dist.
    const page = await call(`${origin}/workflows`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<div id="app">');
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).not.toMatch(/loaded at run time/);
  }, 240_000);
});
