// Loading a spec is keyed on the content of every file it consists of, never on timestamps: an
// edit that keeps a file's size and mtime is still seen, in the root or in a referenced file, by
// the parse, by the bundle and by the Spectral cache. `diff --base <ref>` reads every file at the ref.
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachePut } from '../../generator/cache.js';
import { diffSpecs, loadBase } from '../../generator/diff.js';
import { lintSpec, spectralCacheKey, spectralFindings } from '../../generator/lint.js';
import { loadSpecDocument } from '../../generator/load.js';
import { runCli } from '../../generator/program.js';
import { externalRefs } from '../../generator/spec-files.js';
import { ROOT, SPECS, scratchDir } from './helpers.js';

/** A fixed timestamp (seconds), set before a file is first read and again after each edit. */
const STAMP = 1_700_000_000;

/** Replaces `from` by `to` (same length) and puts the timestamp back: only the content differs. */
function sneakyEdit(file: string, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  const before = statSync(file);
  expect(before.mtimeMs).toBe(STAMP * 1000);
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
  utimesSync(file, STAMP, STAMP);
  const after = statSync(file);
  expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
}

function stamp(...files: string[]): void {
  for (const f of files) utimesSync(f, STAMP, STAMP);
}

const noteText = (root: any) => root.components?.schemas ? JSON.stringify(root) : JSON.stringify(root.paths);

describe('spec loading keyed on content', () => {
  it('finds the files a spec references, in YAML block and flow style and in JSON', () => {
    const text = "a: { $ref: './schemas.yaml#/Note' }\nb:\n  $ref: common/p.yaml#/X\nc: {\"$ref\": \"x.json\"}\nd: { $ref: '#/local' }\ne: { $ref: 'https://example.com/s.yaml#/S' }";
    expect(externalRefs(text)).toEqual(['./schemas.yaml', 'common/p.yaml', 'x.json', 'https://example.com/s.yaml']);
  });

  it('sees an edit of the root that keeps its size and mtime', async () => {
    const dir = scratchDir('load-root');
    const spec = path.join(dir, 'petstore.yaml');
    cpSync(path.join(ROOT, SPECS, 'petstore.yaml'), spec);
    stamp(spec);
    const first = await loadSpecDocument(spec);
    expect(first.bundled).toBe(false);
    expect((first.root.info as { title: string }).title).toBe('Swagger Petstore');
    sneakyEdit(spec, 'title: Swagger Petstore', 'title: Swagger Petshop_');
    const second = await loadSpecDocument(spec);
    expect((second.root.info as { title: string }).title).toBe('Swagger Petshop_');
    expect(second.contentKey).not.toBe(first.contentKey);
    expect(second.hash).not.toBe(first.hash);
    // Unchanged content: the same load, from memory.
    expect(await loadSpecDocument(spec)).toBe(second);
  });

  it('sees an edit of a referenced file that keeps its size and mtime', async () => {
    const dir = scratchDir('load-multi');
    cpSync(path.join(ROOT, SPECS, 'multi-file'), dir, { recursive: true });
    const spec = path.join(dir, 'openapi.yaml');
    stamp(spec, path.join(dir, 'schemas.yaml'));
    const first = await loadSpecDocument(spec);
    expect(first.bundled).toBe(true);
    expect(first.files.map((f) => path.basename(f)).sort()).toEqual(['openapi.yaml', 'parameters.yaml', 'schemas.yaml']);
    expect(noteText(first.root)).toContain('"maxLength":280');
    sneakyEdit(path.join(dir, 'schemas.yaml'), 'maxLength: 280', 'maxLength: 500');
    const second = await loadSpecDocument(spec);
    expect(noteText(second.root)).toContain('"maxLength":500');
    expect(second.contentKey).not.toBe(first.contentKey);
  });

  it('Spectral runs once per content: a cached result is reused, and a same-size edit misses the cache', { timeout: 300_000 }, async () => {
    const dir = scratchDir('lint-cache');
    const spec = path.join(dir, 'petstore.yaml');
    // Unique content, so that no earlier run's cache entry applies.
    writeFileSync(spec, readFileSync(path.join(ROOT, SPECS, 'petstore.yaml'), 'utf8').replace('title: Swagger Petstore', `title: Petstore ${process.pid} ${Date.now()}`));
    stamp(spec);
    const sentinel = { severity: 'warning' as const, pointer: '#/info', message: 'from the cache', rule: 'test/sentinel' };
    await cachePut('spectral', spectralCacheKey(await loadSpecDocument(spec)), [sentinel]);
    expect(await lintSpec(spec)).toContainEqual(sentinel);

    sneakyEdit(spec, 'title: Petstore', 'title: Petshop_');
    const fresh = await lintSpec(spec);
    expect(fresh).not.toContainEqual(sentinel);
    // And that run's findings are now the cached ones.
    await cachePut('spectral', spectralCacheKey(await loadSpecDocument(spec)), [sentinel]);
    expect(await lintSpec(spec)).toContainEqual(sentinel);
  });

  it("Spectral's findings are the same with each example schema compiled once", { timeout: 300_000 }, async () => {
    const dir = scratchDir('lint-memo');
    const spec = path.join(dir, 'examples.yaml');
    // One schema behind many responses, with good and bad examples: the case the memo speeds up.
    const responses = (n: number) => ({
      description: 'An error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' }, example: n % 2 ? { error: { code: 'x', message: 'y' } } : { error: { code: n } } } },
    });
    const paths: Record<string, unknown> = {};
    for (let i = 0; i < 6; i++) {
      paths[`/things/${i}`] = { get: { operationId: `get${i}`, description: 'd', tags: ['t'], responses: { '200': { description: 'ok' }, '400': responses(i), '404': responses(i + 1) } } };
    }
    const doc = {
      openapi: '3.1.0',
      info: { title: 'Examples', version: '1', description: 'd', contact: { name: 'x' } },
      servers: [{ url: 'https://example.com' }],
      tags: [{ name: 't', description: 't' }],
      paths,
      components: { schemas: { Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } } } },
    };
    writeFileSync(spec, JSON.stringify(doc, null, 2));
    const plain = await spectralFindings(spec, { memo: false });
    const memo = await spectralFindings(spec);
    expect(plain.filter((f) => /example/.test(f.rule)).length).toBeGreaterThanOrEqual(6);
    expect(memo).toEqual(plain);
  });
});

describe('diff --base <git ref> on a multi-file spec', () => {
  it('reads the referenced files at the ref too', { timeout: 120_000 }, async () => {
    const repo = scratchDir('diff-git');
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: repo, stdio: 'pipe' });
    git('init', '-q');
    cpSync(path.join(ROOT, SPECS, 'multi-file'), path.join(repo, 'api'), { recursive: true });
    git('add', '.');
    git('commit', '-qm', 'first');
    // Only the referenced file changes: Note loses its `text` field (breaking for clients).
    const schemas = path.join(repo, 'api', 'schemas.yaml');
    writeFileSync(schemas, readFileSync(schemas, 'utf8').replace('required: [id, text]', 'required: [id]').replace(/ {4}text: .*\n/, ''));
    git('commit', '-qam', 'drop Note.text');
    const spec = path.join(repo, 'api', 'openapi.yaml');

    const head = (await loadSpecDocument(spec)).root;
    const before = await loadBase('HEAD~', spec);
    const changes = diffSpecs(before, head);
    expect(changes.filter((c) => c.breaking).map((c) => `${c.where}: ${c.message}`)).toContain('GET /notes/{} response 200 body.text: response field removed');
    expect(diffSpecs(await loadBase('HEAD', spec), head)).toEqual([]);

    expect(await runCli(['diff', '--base', 'HEAD~', '--spec', spec])).toBe(1);
    expect(await runCli(['diff', '--base', 'HEAD', '--spec', spec])).toBe(0);
  });
});
