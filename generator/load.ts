/**
 * Reads a spec from disk. A single-file spec is parsed as it is; one whose `$ref`s point into other
 * files (`./common.yaml#/components/schemas/Pet`) is first bundled into one document by
 * swagger-parser, which rewrites those refs as local ones.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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

export async function loadSpecDocument(specPath: string): Promise<LoadedSpec> {
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
