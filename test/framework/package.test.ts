/**
 * The framework as an API designer meets it: packed, installed from its tarball in a directory
 * outside the repository, `init` on a spec this repository never used, `generate`, one handler
 * implemented, the server started and called over HTTP; then `lint`, `diff`, `check` and the stub
 * that `generate` adds to a hand-written module, all through the installed bin.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitterNames } from '../../generator/emitters/registry.js';
import { attempt, npmInstall, packedFramework, ROOT, startServer, tempDir } from './helpers.js';

const SPEC = path.join(ROOT, 'test/framework/fixtures/library.yaml');
const dirs: string[] = [];
let tarball = '';
let toolBin = '';
let app = '';
const appBin = () => path.join(app, 'node_modules/.bin/lavendly-framework');

/** A variant of the library spec, written beside nothing else (a fresh temp dir). */
async function variant(name: string, change: (doc: any) => void): Promise<string> {
  const doc = parse(await readFile(SPEC, 'utf8'));
  change(doc);
  const dir = await tempDir('fw-spec');
  dirs.push(dir);
  const file = path.join(dir, name);
  await writeFile(file, stringify(doc));
  return file;
}

beforeAll(async () => {
  tarball = await packedFramework();
  const tool = await tempDir('fw-tool');
  dirs.push(tool);
  await writeFile(path.join(tool, 'package.json'), JSON.stringify({ name: 'tool', version: '1.0.0', private: true }));
  await npmInstall(tool, [tarball]);
  toolBin = path.join(tool, 'node_modules/.bin/lavendly-framework');
  const parent = await tempDir('fw-app');
  dirs.push(parent);
  app = path.join(parent, 'library');
  // The tarball as a user names it: a path relative to where they run init, not to the project.
  const init = await attempt(toolBin, ['init', SPEC, '--dir', 'library', '--framework', path.relative(parent, tarball)], parent);
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toContain('handlers/books.ts');
  const pkg = JSON.parse(await readFile(path.join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  expect(pkg.dependencies['@lavendly/framework']).toBe(`file:${tarball}`);
  await npmInstall(app);
}, 900_000);

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('@lavendly/framework from its tarball', () => {
  it('init + generate + one handler: the server answers, a bad body is a 400 in the envelope naming its location', { timeout: 300_000 }, async () => {
    const gen = await attempt(appBin(), ['generate'], app);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toContain('wrote     generated/routes.gen.ts');
    // The installed generator writes the plain fast check of addBook's body beside its zod schema,
    // so the requests below go through it (valid) and past it to zod (invalid).
    expect(await readFile(path.join(app, 'generated/validators.gen.ts'), 'utf8')).toMatch(/addBook: lvp\.op\(\{(?:(?!\n  \w+: lvp\.op)[\s\S])*?fastBody: /);

    const booksFile = path.join(app, 'handlers/books.ts');
    const books = await readFile(booksFile, 'utf8');
    const stub = /(async addBook\(input: T\.AddBookInput, ctx: AppContext\): Promise<T\.AddBookResult> \{\n)([\s\S]*?)(\n {2}\},)/;
    expect(books).toMatch(stub);
    await writeFile(booksFile, books.replace(stub, '$1    void ctx;\n    return { status: 201, body: { ...input.body, available: true } };$3'));

    const tsc = await attempt(path.join(app, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.'], app);
    expect(tsc.stdout + tsc.stderr).toBe('');
    // A team's own stricter settings: the scaffold and the generated code pass them too.
    const stricter = ['--noPropertyAccessFromIndexSignature', '--exactOptionalPropertyTypes', '--noUnusedLocals', '--noUnusedParameters', '--noImplicitOverride'];
    const strict = await attempt(path.join(app, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.', ...stricter], app);
    expect(strict.stdout + strict.stderr).toBe('');

    const server = await startServer(app, ['--import', 'tsx', 'src/server.ts']);
    try {
      const post = (body: string) => fetch(`${server.url}/api/books`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const bad = await post(JSON.stringify({ isbn: '123', title: 'Dune' }));
      expect(bad.status).toBe(400);
      const envelope = await bad.json() as { error: { code: string; request_id: string; issues: { body: { path: string[]; code: string }[] } } };
      expect(envelope.error.code).toBe('validation_error');
      expect(envelope.error.request_id).toBe(bad.headers.get('x-request-id'));
      expect(envelope.error.issues.body.map((i) => i.path.join('.')).sort()).toEqual(['isbn', 'pages']);

      const good = await post(JSON.stringify({ isbn: '9780441172719', title: 'Dune', pages: 412 }));
      expect(good.status).toBe(201);
      expect(await good.json()).toEqual({ isbn: '9780441172719', title: 'Dune', pages: 412, available: true });

      const notJson = await post('{"isbn": ');
      expect(notJson.status).toBe(400);
      const stubbed = await fetch(`${server.url}/api/books/978`);
      expect(stubbed.status).toBe(501);
      // The same route however its letters were percent-encoded (RFC 3986 normal form).
      expect((await fetch(`${server.url}/api/%62ooks/978`)).status).toBe(501);
      expect((await stubbed.json() as { error: { code: string } }).error.code).toBe('not_implemented');
      const wrongMethod = await fetch(`${server.url}/api/books`, { method: 'DELETE' });
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD, POST');
    } finally {
      await server.stop();
    }
    const own = await attempt('npm', ['test'], app);
    expect(own.code, own.stdout + own.stderr).toBe(0);
  });

  it('npm run build, then plain node serves the compiled app (no tsx at run time)', { timeout: 180_000 }, async () => {
    const build = await attempt('npm', ['run', 'build'], app);
    expect(build.code, build.stdout + build.stderr).toBe(0);
    const server = await startServer(app, ['dist/src/server.js']);
    try {
      const res = await fetch(`${server.url}/api/books`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ isbn: '9780441172719', title: 'Dune', pages: 412 }) });
      expect(res.status).toBe(201);
      expect((await fetch(`${server.url}/api/books/978`)).status).toBe(501);
    } finally {
      await server.stop();
    }
  });

  it('lint fails a spec with `type: integr`, an undeclared path parameter and a missing operationId, naming each pointer', { timeout: 120_000 }, async () => {
    const spec = await variant('bad.yaml', (doc) => {
      doc.components.schemas.NewBook.properties.pages.type = 'integr';
      doc.paths['/books/{isbn}/copies/{copy}'] = { get: { operationId: 'getCopy', tags: ['books'], parameters: [{ name: 'isbn', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'ok' } } } };
      delete doc.paths['/loans'].post.operationId;
    });
    const lint = await attempt(toolBin, ['lint', spec], path.dirname(spec));
    expect(lint.code).toBe(1);
    expect(lint.stderr).toContain('error: #/components/schemas/NewBook/properties/pages/type: unknown type "integr"');
    expect(lint.stderr).toContain('error: #/paths/~1books~1{isbn}~1copies~1{copy}/get: path parameter {copy}');
    expect(lint.stderr).toContain('error: #/paths/~1loans/post: POST /loans has no operationId');
    const gen = await attempt(toolBin, ['generate', '--spec', spec, '--out', 'out'], path.dirname(spec));
    expect(gen.code).toBe(1);
    expect(gen.stderr).toMatch(/lint error\(s\); nothing generated/);
  });

  it('diff exits non-zero for a removed response field and zero for an added optional one', { timeout: 120_000 }, async () => {
    const removed = await variant('removed.yaml', (doc) => { delete doc.components.schemas.Book.properties.title; doc.components.schemas.Book.required = ['isbn', 'pages', 'available']; });
    const r1 = await attempt(toolBin, ['diff', '--base', SPEC, '--spec', removed], path.dirname(removed));
    expect(r1.code).toBe(1);
    expect(r1.stdout).toContain('breaking     GET /books/{} response 200 body.title: response field removed');

    const added = await variant('added.yaml', (doc) => { doc.components.schemas.Book.properties.subtitle = { type: 'string' }; });
    const r2 = await attempt(toolBin, ['diff', '--base', SPEC, '--spec', added], path.dirname(added));
    expect(r2.code, r2.stdout).toBe(0);
    expect(r2.stdout).toContain('non-breaking GET /books/{} response 200 body.subtitle: response field added (optional)');
  });

  it('check on a one-schema change names that schema and the operations using it', { timeout: 120_000 }, async () => {
    const specFile = path.join(app, 'library.yaml');
    const original = await readFile(specFile, 'utf8');
    const doc = parse(original);
    doc.components.schemas.Loan.properties.returned = { type: 'boolean' };
    await writeFile(specFile, stringify(doc));
    try {
      const check = await attempt(appBin(), ['check', '--no-spectral'], app);
      expect(check.code).toBe(1);
      expect(check.stderr).toContain('generated/types.gen.ts');
      expect(check.stderr).toContain('schema Loan changed; operations using it: lendBook');
      expect(check.stderr).not.toContain('schema Book');
    } finally {
      await writeFile(specFile, original);
    }
    expect((await attempt(appBin(), ['check', '--no-spectral'], app)).code).toBe(0);
  });

  it('adding an operation: generate inserts one stub and leaves every existing line of the module byte-identical', { timeout: 180_000 }, async () => {
    const loansFile = path.join(app, 'handlers/loans.ts');
    const before = await readFile(loansFile, 'utf8');
    const specFile = path.join(app, 'library.yaml');
    const doc = parse(await readFile(specFile, 'utf8'));
    doc.paths['/loans/{isbn}'] = {
      delete: { operationId: 'returnBook', tags: ['loans'], summary: 'Return a book', parameters: [{ name: 'isbn', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'Returned' } } },
    };
    await writeFile(specFile, stringify(doc));
    const gen = await attempt(appBin(), ['generate', '--no-spectral'], app);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toContain('handlers/loans.ts: returnBook');
    const after = await readFile(loansFile, 'utf8');
    // `after` is `before` with one block inserted: a common prefix and suffix that cover all of `before`.
    let p = 0;
    while (p < before.length && before[p] === after[p]) p++;
    let s = 0;
    while (s < before.length - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
    expect(p + s).toBe(before.length);
    const inserted = after.slice(p, after.length - s);
    expect(inserted.match(/async \w+\(/g)).toEqual(['async returnBook(']);
    const tsc = await attempt(path.join(app, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.'], app);
    expect(tsc.stdout + tsc.stderr).toBe('');
    // Nothing more to add: a second run leaves the module alone.
    expect((await attempt(appBin(), ['generate', '--no-spectral'], app)).stdout).not.toContain('handlers/loans.ts');
    expect(await readFile(loansFile, 'utf8')).toBe(after);
  });

  it('--version, one-line errors for unknown flags, and --help lists what --only accepts', { timeout: 60_000 }, async () => {
    expect((await attempt(toolBin, ['--version'], app)).stdout.trim()).toBe(JSON.parse(await readFile(path.join(ROOT, 'packages/framework/package.json'), 'utf8')).version);
    const bad = await attempt(toolBin, ['generate', '--frobnicate'], app);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe("error: unknown option '--frobnicate'");
    const help = await attempt(toolBin, ['generate', '--help'], app);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(`of: ${emitterNames.join(', ')}`);
  });
});
