/**
 * Reads a spec from disk. A single-file spec is parsed as it is; one whose `$ref`s point into other
 * files (`./common.yaml#/components/schemas/Pet`) is first bundled into one document by
 * swagger-parser, which rewrites those refs as local ones.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { expectObject, parseSpecText, SpecError, type JsonObject } from './spec-doc.js';

export interface LoadedSpec {
  root: JsonObject;
  /** sha256 of the main file, or of the bundled document for a multi-file spec. */
  hash: string;
  /** True when other files were pulled in. */
  bundled: boolean;
}

/** A `$ref` whose value does not start with `#`: the spec spans several files. */
const EXTERNAL_REF = /["']?\$ref["']?\s*:\s*["']?(?!#)[^\s"']/;

/** One parse per file version per process: `generate` lints, then builds the IR from the same document. */
const cache = new Map<string, { stamp: string; loaded: Promise<LoadedSpec> }>();

export async function loadSpecDocument(specPath: string): Promise<LoadedSpec> {
  const info = await stat(specPath);
  const key = path.resolve(specPath);
  const stamp = `${info.mtimeMs}:${info.size}`;
  const hit = cache.get(key);
  if (hit?.stamp === stamp) return hit.loaded;
  const loaded = load(specPath);
  cache.set(key, { stamp, loaded });
  // A multi-file spec also depends on the other files' versions: not cached.
  loaded.then((l) => { if (l.bundled) cache.delete(key); }, () => cache.delete(key));
  return loaded;
}

async function load(specPath: string): Promise<LoadedSpec> {
  const bytes = await readFile(specPath);
  const text = bytes.toString('utf8');
  if (!EXTERNAL_REF.test(text)) {
    return { root: expectObject(parseSpecText(text), '#', 'the document'), hash: createHash('sha256').update(bytes).digest('hex'), bundled: false };
  }
  const { default: SwaggerParser } = await import('@apidevtools/swagger-parser');
  let bundled: unknown;
  try {
    bundled = await SwaggerParser.bundle(specPath);
  } catch (e) {
    throw new SpecError('#', `cannot bundle the referenced files: ${(e as Error).message.split('\n')[0]}`);
  }
  const json = JSON.stringify(bundled);
  return { root: expectObject(bundled, '#', 'the document'), hash: createHash('sha256').update(json).digest('hex'), bundled: true };
}
