/**
 * @lavendly/sdk as a user installs it: built, packed, installed from the tarball into a fresh
 * directory outside the repository, then used there by plain `node` (ESM and CommonJS) against a
 * live server, type-checked by a strict consumer (node16 and bundler resolution, no skipLibCheck),
 * linted by publint and @arethetypeswrong/cli, and bundled minified as an app would bundle it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installConsumer, packedPackages, ROOT, run, runNode, tscOutput, type Installed } from '../helpers/packages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The same flow for both module systems: `IMPORT` is replaced by an import or a require. */
const FLOW = `
IMPORT
const [baseUrl, apiKey] = process.argv.slice(2);
const client = new Lavendly({ apiKey, baseUrl, maxRetries: 0 });
async function main() {
  const created = [];
  for (const name of ['One', 'Two', 'Three']) {
    created.push(await client.workflows.create({ name, shots: [{ prompt: 'a fox in a bookshop', duration_s: 5 }] }));
  }
  const firstPage = await client.workflows.list({ limit: 2 });
  const seen = [];
  for await (const w of client.workflows.list({ limit: 2 })) seen.push(w.id);
  const missing = await client.workflows.get({ id: 'wf_missing' }).catch((e) => e);
  console.log(JSON.stringify({
    created: created.map((w) => w.id),
    firstPage: { size: firstPage.data.length, has_more: firstPage.has_more },
    seen,
    missing: {
      notFound: missing instanceof NotFoundError, base: missing instanceof LavendlyError,
      name: missing.name, status: missing.status, code: missing.code, requestId: typeof missing.requestId,
    },
  }));
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

/**
 * A broken peer in front of the installed SDK: a redirect to another host (which must receive
 * nothing), and a 200 that is an HTML page where the API documents JSON.
 */
const HOSTILE = `
import http from 'node:http';
import { Lavendly } from '@lavendly/sdk';
const listen = (handler) => new Promise((resolve) => { const s = http.createServer(handler).listen(0, '127.0.0.1', () => resolve(s)); });
let otherHits = 0;
const other = await listen((req, res) => { otherHits++; res.setHeader('content-type', 'application/json'); res.end('{"data":[],"has_more":false,"next_cursor":null}'); });
const redirect = await listen((req, res) => { res.statusCode = 307; res.setHeader('location', 'http://127.0.0.1:' + other.address().port + req.url); res.end(); });
const portal = await listen((req, res) => { res.setHeader('content-type', 'text/html'); res.end('<html><title>Sign in to the Wi-Fi</title></html>'); });
const call = (port) => new Lavendly({ apiKey: 'k', baseUrl: 'http://127.0.0.1:' + port + '/v1', maxRetries: 0 }).workflows.list({ limit: 1 }).then(() => null, (e) => ({ name: e.name, code: e.code, status: e.status }));
const redirected = await call(redirect.address().port);
const page = await call(portal.address().port);
console.log(JSON.stringify({ redirected, page, otherHits }));
for (const s of [other, redirect, portal]) s.close();
`;

const NAMES = 'Lavendly, LavendlyError, NotFoundError';
const ESM = FLOW.replace('IMPORT', `import { ${NAMES} } from '@lavendly/sdk';`);
const CJS = FLOW.replace('IMPORT', `const { ${NAMES} } = require('@lavendly/sdk');`);

/** Types only (compiled, never run): the typed surface, and misuse rejected. */
const TYPED = `
import {
  Lavendly, NotFoundError, verifyWebhook,
  type CreateWorkflowParams, type WebhookEvent, type Workflow, type WorkflowSummary,
} from '@lavendly/sdk';

const client = new Lavendly({ apiKey: 'k', baseUrl: 'http://localhost:8090/v1' });

export async function typed(raw: string, headers: Record<string, string>): Promise<string> {
  const params: CreateWorkflowParams = { name: 'Fox', shots: [{ prompt: 'a fox', duration_s: 5 }] };
  const wf: Workflow = await client.workflows.create(params, { idempotencyKey: 'fox-1' });
  for await (const w of client.workflows.list({ limit: 10 })) {
    const summary: WorkflowSummary = w;
    void summary;
  }
  const job = await client.generate.start({ id: wf.id });
  const status = await client.generate.waitForGenerateScene(job, { timeout: 60_000 });
  void status;
  try {
    await client.workflows.get({ id: 'wf_missing' });
  } catch (e) {
    if (e instanceof NotFoundError) return e.code;
  }
  const event: WebhookEvent = await verifyWebhook(raw, headers, 'whsec_c2VjcmV0');
  switch (event.type) {
    case 'render.succeeded':
      return event.data.render_id;
    case 'balance.low':
      return String(event.data.available);
    default:
      return event.type;
  }
}

export async function misuse(): Promise<void> {
  // @ts-expect-error shots are required
  await client.workflows.create({ name: 'Fox' });
  // @ts-expect-error no such method
  await client.workflows.nope();
  // @ts-expect-error an optional property may not be given undefined explicitly (exactOptionalPropertyTypes)
  new Lavendly({ apiKey: undefined });
  const event = await verifyWebhook('{}', {}, 'whsec_');
  // @ts-expect-error not every event has a render id
  void event.data.render_id;
}
`;

const STRICT = {
  target: 'ES2022', strict: true, exactOptionalPropertyTypes: true, noPropertyAccessFromIndexSignature: true,
  noUncheckedIndexedAccess: true, noImplicitOverride: true, noUnusedLocals: true, skipLibCheck: false, noEmit: true,
};

let server: TestServer;
let consumer: Installed;
let tarball: string;
let key: string;

beforeAll(async () => {
  ({ sdk: tarball } = await packedPackages());
  [server, consumer] = await Promise.all([
    startTestServer('sqlite'),
    // @types/node from the registry for the node16 consumer; the bundler one uses the DOM lib alone.
    installConsumer([tarball, '@types/node@20.19.43']),
  ]);
  ({ key } = await server.account({ credits: 0 }));
  const dir = consumer.dir;
  await writeFile(path.join(dir, 'flow.mjs'), ESM);
  await writeFile(path.join(dir, 'flow.cjs'), CJS);
  await writeFile(path.join(dir, 'hostile.mjs'), HOSTILE);
  await writeFile(path.join(dir, 'typed.mts'), TYPED);
  await writeFile(path.join(dir, 'typed.cts'), TYPED);
  await writeFile(path.join(dir, 'typed.ts'), TYPED);
  await writeFile(path.join(dir, 'tsconfig.node16.json'), JSON.stringify({
    compilerOptions: { ...STRICT, module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'] },
    files: ['typed.mts', 'typed.cts'],
  }));
  await writeFile(path.join(dir, 'tsconfig.bundler.json'), JSON.stringify({
    compilerOptions: { ...STRICT, module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [] },
    files: ['typed.ts'],
  }));
}, 300_000);

afterAll(async () => {
  await server?.close();
  await consumer?.remove();
});

describe('@lavendly/sdk installed from its tarball', () => {
  it('is installed with no dependencies, outside the repository', async () => {
    expect(path.relative(ROOT, consumer.dir).startsWith('..')).toBe(true);
    const pkg = JSON.parse(await readFile(path.join(consumer.dir, 'node_modules/@lavendly/sdk/package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.sideEffects).toBe(false);
    const { stdout } = await run('tar', ['-tzf', tarball]);
    expect(stdout.trim().split('\n').sort()).toEqual([
      'package/README.md', 'package/api.md', 'package/dist/index.cjs', 'package/dist/index.d.cts', 'package/dist/index.d.ts',
      'package/dist/index.js', 'package/package.json',
    ]);
    const bundle = await readFile(path.join(consumer.dir, 'node_modules/@lavendly/sdk/dist/index.js'), 'utf8');
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:/);
  });

  it.each([['ESM', 'flow.mjs'], ['CommonJS', 'flow.cjs']])('%s under plain node: create, every page, a typed 404', async (_kind, file) => {
    const out = await runNode(consumer.dir, file, [server.base, key]);
    expect(out.created).toHaveLength(3);
    expect(out.firstPage).toEqual({ size: 2, has_more: true });
    // Every workflow of the account, each once, across pages of two.
    expect(out.seen).toHaveLength(new Set(out.seen).size);
    expect(out.seen).toEqual(expect.arrayContaining(out.created));
    expect(out.missing).toEqual({ notFound: true, base: true, name: 'NotFoundError', status: 404, code: 'not_found', requestId: 'string' });
  });

  it('under plain node, refuses a redirect (the other host gets nothing) and an HTML page where JSON belongs', async () => {
    const out = await runNode(consumer.dir, 'hostile.mjs');
    expect(out.redirected).toMatchObject({ code: 'http_307', status: 307 });
    expect(out.otherHits).toBe(0);
    expect(out.page).toEqual({ name: 'InvalidResponseError', code: 'invalid_response', status: 200 });
  });

  it.each(['node16', 'bundler'])('type-checks a strict consumer under moduleResolution %s', async (resolution) => {
    expect(await tscOutput(consumer.dir, `tsconfig.${resolution}.json`)).toBe('');
  });

  it('has no packaging problem (publint, @arethetypeswrong/cli)', async () => {
    const bin = (name: string) => path.join(ROOT, 'node_modules/.bin', name);
    const lint = await run(bin('publint'), ['--strict', path.join(consumer.dir, 'node_modules/@lavendly/sdk')], { timeout: 60_000 });
    expect(lint.stdout).toMatch(/All good/);
    const types = await run(bin('attw'), [tarball, '--format', 'json'], { timeout: 60_000 });
    const report = JSON.parse(types.stdout) as { analysis: { problems: unknown[] } };
    expect(report.analysis.problems).toEqual([]);
  });

  it('leaves the download code out of a minified bundle that never downloads, and keeps error names there', async () => {
    // Before: the download functions were methods of the client, and the build's keepNames calls
    // kept every function: the client-only bundle carried the download and file-system code.
    const bundle = async (contents: string) => {
      const out = await build({
        stdin: { contents, resolveDir: consumer.dir, loader: 'js' },
        bundle: true, minify: true, format: 'esm', platform: 'node', target: 'es2022', write: false,
      });
      return out.outputFiles[0]!.text;
    };
    const names = "console.log(JSON.stringify([new NotFoundError('x').name, new LavendlyError('x').name, new WebhookVerificationError('x').name]));";
    const clientOnly = await bundle(`import { Lavendly, LavendlyError, NotFoundError, WebhookVerificationError } from '@lavendly/sdk'; new Lavendly(); ${names}`);
    const downloading = await bundle(`import { downloadFile, download, Lavendly } from '@lavendly/sdk'; console.log(typeof downloadFile, typeof download, new Lavendly());`);
    // Strings only the download code holds: its file-system access and a transfer's messages.
    for (const own of ['getBuiltinModule', 'the rest of the file is gone']) {
      expect(clientOnly).not.toContain(own);
      expect(downloading).toContain(own);
    }
    // The minifier renamed every class; each error still says which it is.
    await writeFile(path.join(consumer.dir, 'names.mjs'), clientOnly);
    expect(await runNode(consumer.dir, 'names.mjs')).toEqual(['NotFoundError', 'LavendlyError', 'WebhookVerificationError']);
  });

  it('ships api.md listing every operation', async () => {
    const doc = await readFile(path.join(consumer.dir, 'node_modules/@lavendly/sdk/api.md'), 'utf8');
    const spec = await readFile(path.join(ROOT, 'generated/sdk-api.gen.md'), 'utf8');
    expect(doc).toBe(spec);
    for (const m of ['workflows.create(', 'workflows.list(', 'renders.waitForCreateRender(', 'verifyWebhook(', 'RenderSucceededEvent']) {
      expect(doc).toContain(m);
    }
  });
});
