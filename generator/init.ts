/**
 * `init <spec>`: a new project from a spec: package.json, lavendly.config.json, tsconfig.json, the
 * spec itself, a server entry, the handler context, one handler module per tag with a typed stub
 * per operation, and a test. Refuses to overwrite anything that exists.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildIr } from './ir.js';
import { handlerModule, handlersIndex, type HandlerLayout } from './stubs.js';
import { FRAMEWORK_VERSION } from './version.js';

/** Versions a new project pins (the ones this framework is built and tested with). */
const PINNED = {
  '@koa/router': '15.7.0', koa: '3.3.0', zod: '4.6.7',
  tsx: '4.23.15', typescript: '5.9.3', '@types/node': '20.19.43', '@types/koa': '3.0.3', '@types/koa__router': '12.0.5',
};

export interface InitOptions {
  spec: string;
  dir: string;
  /** How package.json names the framework dependency (default this version); a tarball path works too. */
  framework?: string;
  name?: string;
}

export const INIT_EMITTERS = ['types', 'validators', 'routes', 'handlers'];

/**
 * The framework's entry in package.json. A path to a tarball or folder is taken from where `init`
 * runs, but npm reads package.json from the project's folder, where the same relative path names
 * nothing: so an existing path becomes `file:` and its absolute form.
 */
function frameworkDependency(spec: string | undefined): string {
  if (!spec) return FRAMEWORK_VERSION;
  const local = spec.startsWith('file:') ? spec.slice('file:'.length) : spec;
  return existsSync(local) ? `file:${path.resolve(local)}` : spec;
}

export async function initProject(opts: InitOptions): Promise<string[]> {
  const dir = path.resolve(opts.dir);
  const specName = path.basename(opts.spec).replace(/\.(yml|json)$/i, (m) => m.toLowerCase());
  const ir = await buildIr(opts.spec);
  const layout: HandlerLayout = { handlersDir: 'handlers', generatedDir: 'generated', context: { type: 'AppContext', from: 'src/context.ts' } };
  const name = opts.name ?? (path.basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'api');
  const files: Record<string, string> = {
    'package.json': JSON.stringify({
      name, version: '0.1.0', private: true, type: 'module',
      scripts: {
        generate: 'lavendly-framework generate', check: 'lavendly-framework check', lint: 'lavendly-framework lint',
        start: 'tsx src/server.ts', typecheck: 'tsc --noEmit', test: 'node --import tsx --test test/*.test.ts',
        // Production runs plain node on the compiled files: no tsx (a dev dependency) at run time.
        build: 'tsc --noEmit false --outDir dist', serve: 'node dist/src/server.js',
      },
      dependencies: { '@lavendly/framework': frameworkDependency(opts.framework), '@koa/router': PINNED['@koa/router'], koa: PINNED.koa, zod: PINNED.zod },
      devDependencies: { '@types/koa': PINNED['@types/koa'], '@types/koa__router': PINNED['@types/koa__router'], '@types/node': PINNED['@types/node'], tsx: PINNED.tsx, typescript: PINNED.typescript },
    }, null, 2) + '\n',
    'lavendly.config.json': JSON.stringify({ spec: specName, out: 'generated', only: INIT_EMITTERS, handlers: 'handlers', context: layout.context }, null, 2) + '\n',
    'tsconfig.json': JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: ['node'], strict: true, noUncheckedIndexedAccess: true, skipLibCheck: false, noEmit: true, isolatedModules: true },
      include: ['src', 'handlers', 'generated', 'test'],
    }, null, 2) + '\n',
    '.gitignore': 'node_modules/\ndist/\n',
    'src/context.ts': [
      '/** What every handler receives besides its input: add services (a database, clients) here. */',
      "import type Koa from 'koa';",
      '',
      'export interface AppContext {',
      '  requestId: string;',
      '}',
      '',
      'export function contextOf(ctx: Koa.Context): AppContext {',
      // Bracket access: also compiles where a team turns on noPropertyAccessFromIndexSignature.
      "  return { requestId: String(ctx.state['requestId']) };",
      '}',
      '',
    ].join('\n'),
    'src/app.ts': [
      '/** The API as a Koa app: generated routes, your handlers, the framework runtime. */',
      "import { createApp, createRuntime } from '@lavendly/framework';",
      "import { basePath, mountRoutes } from '../generated/routes.gen.js';",
      "import { handlers } from '../handlers/index.js';",
      "import { contextOf, type AppContext } from './context.js';",
      '',
      'export function buildApp() {',
      '  const runtime = createRuntime<AppContext>({ context: contextOf });',
      '  return createApp({ basePath, mount: (router) => mountRoutes(router, handlers, runtime) });',
      '}',
      '',
    ].join('\n'),
    'src/server.ts': [
      "import { buildApp } from './app.js';",
      '',
      "const port = Number(process.env['PORT'] ?? 3000);",
      "const server = buildApp().listen(port, '127.0.0.1', () => {",
      '  const address = server.address();',
      "  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`);",
      '});',
      '',
    ].join('\n'),
    'handlers/index.ts': handlersIndex(ir, layout),
    'test/api.test.ts': [
      "import assert from 'node:assert/strict';",
      "import type { AddressInfo } from 'node:net';",
      "import { test } from 'node:test';",
      "import { basePath } from '../generated/routes.gen.js';",
      "import { buildApp } from '../src/app.js';",
      '',
      "test('an unknown path answers 404 in the error envelope', async () => {",
      "  const server = buildApp().listen(0, '127.0.0.1');",
      "  await new Promise((resolve) => server.once('listening', resolve));",
      '  try {',
      '    const { port } = server.address() as AddressInfo;',
      '    const res = await fetch(`http://127.0.0.1:${port}${basePath}/no-such-path`);',
      '    assert.equal(res.status, 404);',
      '    const body = (await res.json()) as { error: { code: string } };',
      "    assert.equal(body.error.code, 'not_found');",
      '  } finally {',
      '    server.close();',
      '  }',
      '});',
      '',
    ].join('\n'),
  };
  for (const tag of ir.tagInfo) files[`handlers/${tag.identifier}.ts`] = handlerModule(ir, tag, layout);
  const clashes = Object.keys(files).concat(specName).filter((f) => existsSync(path.join(dir, f)) && !(f === specName && path.resolve(opts.spec) === path.join(dir, f)));
  if (clashes.length) throw new Error(`${dir} already has ${clashes.join(', ')}; init only writes new files`);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  if (path.resolve(opts.spec) !== path.join(dir, specName)) await copyFile(opts.spec, path.join(dir, specName));
  return [...Object.keys(files), specName].sort();
}
