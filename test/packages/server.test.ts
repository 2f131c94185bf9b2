/**
 * The server package's tarball (`npm pack` at the root, whose prepack step compiles dist/): the
 * compiled server and nothing else. No TypeScript sources (an installed package has no tsx), no
 * tests, benchmarks, generator or scripts; every relative import of a packed file resolves to a
 * packed file (so the list cannot silently drop something the server loads).
 *
 * Then as an operator gets it: `npm install` of the tarball into an empty directory (dependencies
 * from the registry, better-sqlite3 built on the spot, nothing linked from this checkout) and the
 * installed `lavendly` bin under plain node: the server's modules and the framework it carries
 * inside load by name (one copy of the framework), and it creates an account, serves on a fresh SQLite file,
 * takes a workflow through generation and a render with the installed ffmpeg, serves the console's
 * page, and stops cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { installConsumer, ROOT, run, type Installed } from '../helpers/packages.js';
import { freePort } from '../helpers/server.js';
import { importedPackages } from '../helpers/js-imports.js';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'lvd-server-tgz-'));
let consumer: Installed | null = null;
let server: ChildProcess | null = null;
afterAll(async () => {
  server?.kill('SIGKILL');
  await consumer?.remove();
  await rm(scratch, { recursive: true, force: true });
});

/** The install scripts the server needs: better-sqlite3's build and the ffmpeg binaries' chmod. */
const OPERATOR_ALLOW_SCRIPTS = { 'better-sqlite3': true, '@ffmpeg-installer/linux-x64': true, '@ffprobe-installer/linux-x64': true };

interface Packed { filename: string; files: { path: string }[] }
let packing: Promise<Packed> | null = null;
/** `npm pack` at the root (its prepack step compiles dist/), once for both tests. */
function packServer(): Promise<Packed> {
  packing ??= run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: ROOT, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 })
    .then(({ stdout }) => (JSON.parse(stdout.slice(stdout.indexOf('[\n'))) as Packed[])[0]!);
  return packing;
}

/** Environment for the installed bin: no tsx loader, no test settings leaking in from this run. */
function operatorEnv(dataDir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LAVENDLY_DATA_DIR: dataDir, LOG_LEVEL: 'info' };
}

/**
 * Starts `lavendly serve --port N` and resolves with its origin once it logs that it listens. No
 * LAVENDLY_PUBLIC_URL: the signed links must name the port given on the command line.
 */
async function startServer(bin: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; origin: string; log: string[] }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(await freePort())], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => log.push(line));
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${log.join('\n')}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${log.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.push(line);
      const origin = /"origin":"(http:[^"]+)"/.exec(line)?.[1];
      if (origin) { clearTimeout(timer); resolve({ child, origin, log }); }
    });
  });
}

async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 120_000): Promise<T> {
  for (const start = Date.now(); ; ) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the server package tarball', () => {
  it('holds the runtime, not the tests, and every import is in it or a dependency', { timeout: 300_000 }, async () => {
    const packed = await packServer();
    const files = new Set(packed.files.map((f) => f.path));
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
  });

  it('runs from the installed bin: account, serve, generate, render, console, clean stop', { timeout: 900_000 }, async () => {
    const packed = await packServer();
    // The README's allowScripts for an operator's project: npm 12 runs no dependency's install
    // script unless it is listed, and without these better-sqlite3 is never built.
    consumer = await installConsumer([path.join(scratch, packed.filename)], { allowScripts: OPERATOR_ALLOW_SCRIPTS }, 600_000);
    const bin = path.join(consumer.dir, 'node_modules/.bin/lavendly');
    // Nothing resolves back into this checkout: the native SQLite driver was built in the consumer.
    const driver = await run(process.execPath, ['-p', "require.resolve('better-sqlite3')"], { cwd: path.join(consumer.dir, 'node_modules/lavendly') });
    expect(driver.stdout.trim().startsWith(path.join(consumer.dir, 'node_modules/better-sqlite3'))).toBe(true);
    // The server's modules load by name, and the app's errors are the framework's (one copy of
    // the module, so the envelope knows them).
    const probe = [
      "const app = await import('lavendly/dist/src/http/app.js');",
      "const fw = await import('lavendly/dist/node_modules/@lavendly/framework/index.js');",
      "const errors = await import('lavendly/dist/src/http/errors.js');",
      "const e = new errors.ApiError('conflict', 'taken');",
      "console.log(JSON.stringify({ createApp: typeof app.createApp, runtime: typeof fw.createRuntime, same: e instanceof fw.ApiError, status: fw.toApiError(e).status }));",
    ].join('\n');
    const plainNode = { env: { PATH: process.env.PATH, HOME: process.env.HOME } };
    const loaded = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: consumer.dir, ...plainNode });
    expect(JSON.parse(loaded.stdout)).toEqual({ createApp: 'function', runtime: 'function', same: true, status: 409 });
    // The knex entry point resolves by name from inside the package, as the server's own files do.
    const knex = await run(process.execPath, ['--input-type=module', '-e', "const k = await import('@lavendly/framework/knex'); console.log(typeof k.KnexIdempotencyStore);"],
      { cwd: path.join(consumer.dir, 'node_modules/lavendly/dist'), ...plainNode });
    expect(knex.stdout.trim()).toBe('function');
    const dataDir = path.join(consumer.dir, 'data');
    const env = operatorEnv(dataDir);

    const created = await run(process.execPath, [bin, 'accounts', 'create', '--name', 'Operator', '--credits', '100', '--json'], { cwd: consumer.dir, env, timeout: 60_000 });
    const account = JSON.parse(created.stdout) as { api_key: string; credits: number };
    expect(account.credits).toBe(100);

    const started = await startServer(bin, consumer.dir, env);
    server = started.child;
    const api = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${started.origin}/v1${route}`, {
        method, headers: { authorization: `Bearer ${account.api_key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    const status = await api('GET', '/_status');
    expect(status.body.database).toEqual({ kind: 'sqlite', ok: true });
    const wf = await api('POST', '/workflows', { name: 'Installed', shots: [{ prompt: 'a lighthouse at dusk', duration_s: 2 }] });
    expect(wf.status).toBe(201);
    const generating = await api('POST', `/workflows/${wf.body.id}/generate`, {});
    expect(generating.status, JSON.stringify(generating.body)).toBe(202);
    const generated = await until('generation', () => api('GET', `/workflows/${wf.body.id}/generation-status`),
      (r) => !['queued', 'running'].includes(r.body.status));
    expect(generated.body.status, JSON.stringify(generated.body)).toBe('succeeded');
    const render = await api('POST', `/workflows/${wf.body.id}/renders`, {});
    expect(render.status).toBe(202);
    const rendered = await until('render', () => api('GET', `/workflows/${wf.body.id}/renders/${render.body.id}`),
      (r) => !['queued', 'running'].includes(r.body.status));
    expect(rendered.body.status, JSON.stringify(rendered.body)).toBe('succeeded');
    const mp4 = Buffer.from(await (await fetch(rendered.body.url)).arrayBuffer());
    expect(mp4.subarray(4, 8).toString('latin1')).toBe('ftyp');

    // An online backup from the installed bin while the server runs (README, Backups).
    const backup = await run(process.execPath, [bin, 'backup', '--to', path.join(consumer.dir, 'backup.sqlite')], { cwd: consumer.dir, env, timeout: 60_000 });
    expect(backup.stdout).toMatch(/^wrote \S+backup\.sqlite: [\d.]+ (KiB|MiB), integrity ok, \d+ migrations /);

    const page = await fetch(`${started.origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);

    const exited = new Promise<number | null>((resolve) => server!.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    server = null;
  });
});
