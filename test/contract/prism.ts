/**
 * Spec tables for the contract tests (operations and their examples), plus the shared Prism
 * launcher from test/helpers/prism.ts.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SPEC_FILE } from '../helpers/prism.js';

export { startPrism, type PrismProcess } from '../helpers/prism.js';

// ----------------------------------------------------------------------------------------------
// The spec as plain data, for tables of operations and their examples.

export interface SpecOperation {
  operationId: string;
  method: string;
  /** `/workflows/{id}` */
  path: string;
  op: Record<string, any>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export function loadSpec(file = SPEC_FILE): Record<string, any> {
  return parse(readFileSync(file, 'utf8'));
}

export function specOperations(spec: Record<string, any>): SpecOperation[] {
  const out: SpecOperation[] = [];
  for (const [p, item] of Object.entries<Record<string, any>>(spec.paths ?? {})) {
    for (const method of METHODS) if (item[method]) out.push({ operationId: item[method].operationId, method, path: p, op: item[method] });
  }
  return out;
}

/** Follows a local `$ref` (`#/components/...`). */
export function deref<T = any>(spec: Record<string, any>, node: any): T {
  let cur = node;
  for (let i = 0; cur && typeof cur === 'object' && typeof cur.$ref === 'string' && i < 10; i++) {
    cur = cur.$ref
      .slice(2)
      .split('/')
      .map((s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o: any, k: string) => o?.[k], spec);
  }
  return cur as T;
}

/** The first example of a media type object (`example`, else the first of `examples`). */
export function firstExample(spec: Record<string, any>, media: Record<string, any> | undefined): unknown {
  if (!media) return undefined;
  if ('example' in media) return media.example;
  const first = Object.values<any>(media.examples ?? {})[0];
  return first === undefined ? undefined : deref(spec, first).value;
}

/** Matches a concrete request path against a spec path template. */
export function pathMatches(template: string, actual: string): boolean {
  const re = new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+') + '$');
  return re.test(actual);
}
