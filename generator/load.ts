/**
 * Reads a spec from disk. A single-file spec is parsed as it is; one whose `$ref`s point into other
 * files (`./common.yaml#/components/schemas/Pet`) is first bundled into one document by
 * swagger-parser, which rewrites those refs as local ones; schemas that recurse across files are
 * then made components (bundle-cycles.ts).
 * Results are keyed on the content of every file of the spec (spec-files.ts), never on timestamps:
 * an edit that keeps a file's size within one mtime tick is still seen (`--watch` saves fast).
 * The parsed document is also kept on disk by that key (cache.ts), so an unchanged YAML spec is
 * parsed once, not on every run.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { hoistCycles, originsFrom } from './bundle-cycles.js';
import { cacheGet, cachePut, packageVersion, sha256 } from './cache.js';
import { collapseWrappers, unwrapRefSiblings, wrapRefSiblings } from './ref-siblings.js';
import { expectObject, parseSpecText, SpecError, type Json, type JsonObject } from './spec-doc.js';
import { externalRefs, specFiles, type SpecFiles } from './spec-files.js';

export interface LoadedSpec {
  root: JsonObject;
  /** sha256 of the main file, or of the bundled document for a multi-file spec. */
  hash: string;
  /** True when other files were pulled in. */
  bundled: boolean;
  /** sha256 over the bytes of every file of the spec: what caches of results derived from it key on. */
  contentKey: string;
  /** The files read, root first (absolute paths); `--watch` watches their folders. */
  files: string[];
  /** A `$ref` names a URL: results derived from the spec must not be cached. */
  remote: boolean;
}

/** Bumped when what load() does to a bundled document changes, so older cached bundles are not reused. */
const BUNDLE_FORMAT = 'cycles-as-components, ref-siblings-own';

/**
 * The bundler reads every file through this: parsed as a one-file spec is (parseSpecText), with the
 * siblings of refs into other files wrapped so that they stay on their ref (ref-siblings.ts).
 */
const SIBLINGS_PARSER = {
  order: 1,
  canParse: ['.yaml', '.yml', '.json'],
  parse(file: { url: string; data: Buffer | string }) {
    const text = Buffer.isBuffer(file.data) ? file.data.toString('utf8') : file.data;
    try {
      return wrapRefSiblings(parseSpecText(text) as Json);
    } catch (e) {
      throw new Error(`${file.url}: ${(e as Error).message}`);
    }
  },
};

/** One load per content version per process: `generate` lints, then builds the IR from the same document. */
const loaded = new Map<string, { key: string; loaded: Promise<LoadedSpec> }>();

const readOrNull = (file: string) => readFile(file).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' || e.code === 'EISDIR' ? null : Promise.reject(e)));

export async function loadSpecDocument(specPath: string): Promise<LoadedSpec> {
  const files = await specFiles(specPath, readOrNull);
  const id = path.resolve(specPath);
  const hit = loaded.get(id);
  if (hit && hit.key === files.key && !files.remote) return hit.loaded;
  const promise = load(specPath, files);
  loaded.set(id, { key: files.key, loaded: promise });
  promise.catch(() => loaded.delete(id));
  return promise;
}

async function load(specPath: string, spec: SpecFiles): Promise<LoadedSpec> {
  const { bytes } = spec.files[0]!;
  const text = bytes.toString('utf8');
  const common = { contentKey: spec.key, files: spec.files.map((f) => f.path), remote: spec.remote };
  if (!externalRefs(text).length) {
    return { root: await parseCached(text, bytes), hash: sha256Plain(bytes), bundled: false, ...common };
  }
  const key = sha256('bundle', BUNDLE_FORMAT, packageVersion('@apidevtools/swagger-parser'), packageVersion('yaml'), spec.key);
  const cached = spec.remote ? undefined : await cacheGet<{ root: JsonObject; hash: string }>('bundle', key);
  if (cached) return { ...cached, bundled: true, ...common };
  const { default: SwaggerParser } = await import('@apidevtools/swagger-parser');
  let bundled: unknown;
  try {
    bundled = await SwaggerParser.bundle(specPath, { parse: { siblings: SIBLINGS_PARSER } });
  } catch (e) {
    throw new SpecError('#', `cannot bundle the referenced files: ${(e as Error).message.split('\n')[0]}`);
  }
  const root = expectObject(bundled, '#', 'the document');
  const kept = unwrapRefSiblings(root);
  const hash = sha256Plain(Buffer.from(JSON.stringify(root)));
  const rootFile = path.resolve(specPath);
  hoistCycles(root, originsFrom(rootFile, new Map(spec.files.map((f) => [f.path, f.bytes]))), path.dirname(rootFile));
  collapseWrappers(kept);
  if (!spec.remote) await cachePut('bundle', key, { root, hash });
  return { root, hash, bundled: true, ...common };
}

/** The parsed document; YAML parses are cached on disk by content (JSON parses natively, faster than a cache read). */
async function parseCached(text: string, bytes: Buffer): Promise<JsonObject> {
  if (/^\s*\{/.test(text)) return expectObject(parseSpecText(text), '#', 'the document');
  const key = sha256('parse', packageVersion('yaml'), bytes);
  const cached = await cacheGet<JsonObject>('parsed', key);
  if (cached) return cached;
  const root = expectObject(parseSpecText(text), '#', 'the document');
  await cachePut('parsed', key, root);
  return root;
}

/** The banner's sha256: of the bytes alone, as `sha256sum` prints it. */
function sha256Plain(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
