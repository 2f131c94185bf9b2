/**
 * `lint`: what makes a spec unsafe to generate from, as errors naming the JSON pointer, then
 * Spectral's OpenAPI ruleset run in process. The built-in checks catch what the IR would
 * otherwise paper over: an unknown `type` (the field would go unvalidated), a path template
 * parameter no operation declares (it would be invented as a string), a missing operationId (it
 * would be invented from the path).
 */
import { readFile } from 'node:fs/promises';
import { pointerJoin } from './names.js';
import { SpecDoc, isObject, type Json, type JsonObject } from './spec-doc.js';
import { cacheGet, cachePut, packageVersion, sha256 } from './cache.js';
import { loadSpecDocument, type LoadedSpec } from './load.js';
import { memoizeSpectralSchemaCompiles } from './spectral-memo.js';
import { reservedJsonBodyKeys, unboundedRequestBodyParts, unparsedRequestBodies } from './lint-request-bodies.js';
import { backtrackingPatterns } from './lint-patterns.js';
import { unsupportedSecuritySchemes } from './lint-security.js';

export interface LintFinding {
  severity: 'error' | 'warning';
  /** JSON pointer of the offending node (`#/paths/~1pets/get/responses`). */
  pointer: string;
  message: string;
  /** `lavendly/...` for the built-in checks, Spectral's rule name otherwise. */
  rule: string;
}

const SCHEMA_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Keys whose values are data or extensions, never schemas. */
const DATA_KEYS = new Set(['example', 'examples', 'default', 'enum', 'const', 'securitySchemes', 'links', 'callbacks']);

/** The built-in checks over a parsed (bundled) document. */
export function structuralFindings(root: JsonObject): LintFinding[] {
  const out: LintFinding[] = [];
  walkTypes(root, '#', out, typeof root.openapi === 'string' && root.openapi.startsWith('3.0'));
  const paths = isObject(root.paths) ? root.paths : {};
  for (const [path, item] of Object.entries(paths)) {
    const itemAt = pointerJoin('#/paths', path);
    if (!isObject(item)) continue;
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const shared = declaredPathParams(root, item.parameters);
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const at = pointerJoin(itemAt, method);
      if (typeof op.operationId !== 'string' || !op.operationId) {
        out.push({ severity: 'error', pointer: at, rule: 'lavendly/operation-id', message: `${method.toUpperCase()} ${path} has no operationId` });
      }
      const declared = new Set([...shared, ...declaredPathParams(root, op.parameters)]);
      for (const name of templated) {
        if (!declared.has(name)) {
          out.push({ severity: 'error', pointer: at, rule: 'lavendly/path-params', message: `path parameter {${name}} of ${path} is not declared (add it to parameters with in: path)` });
        }
      }
      for (const name of declared) {
        if (!templated.includes(name)) {
          out.push({ severity: 'error', pointer: pointerJoin(at, 'parameters'), rule: 'lavendly/path-params', message: `path parameter "${name}" does not appear in ${path}` });
        }
      }
    }
  }
  out.push(...unboundedRequestBodyParts(root, (ref) => resolveLocal(root, ref)));
  out.push(...unparsedRequestBodies(root, (ref) => resolveLocal(root, ref)));
  out.push(...reservedJsonBodyKeys(root, (ref) => resolveLocal(root, ref)));
  out.push(...unsupportedSecuritySchemes(root, (ref) => resolveLocal(root, ref)));
  out.push(...backtrackingPatterns(root));
  return out;
}

function declaredPathParams(root: JsonObject, list: Json | undefined): string[] {
  if (!Array.isArray(list)) return [];
  const names: string[] = [];
  for (let p of list) {
    for (let hops = 0; isObject(p) && typeof p.$ref === 'string' && p.$ref.startsWith('#/') && hops < 10; hops++) p = resolveLocal(root, p.$ref);
    if (isObject(p) && p.in === 'path' && typeof p.name === 'string') names.push(p.name);
  }
  return names;
}

/**
 * The node at a local ref, or null: the IR's own resolver, so a pointer into a list (what bundling
 * writes for a parameter or schema met first inside one: `.../get/parameters/0`) resolves here too.
 */
function resolveLocal(root: JsonObject, ref: string): Json {
  try {
    return new SpecDoc(root).resolve(ref, '#');
  } catch {
    return null;
  }
}

/** Every `type: <string>` that is not a JSON Schema type, outside examples, defaults and extensions. */
function walkTypes(node: Json, at: string, out: LintFinding[], v30: boolean): void {
  if (Array.isArray(node)) {
    node.forEach((v, i) => walkTypes(v, `${at}/${i}`, out, v30));
    return;
  }
  if (!isObject(node)) return;
  const t = node.type;
  const inProperties = at.endsWith('/properties');
  if (v30 && !inProperties && Array.isArray(t)) {
    // The IR would pass it on as 3.1 would read it; 3.0 tools refuse it (Spectral reports it, or throws).
    out.push({ severity: 'error', pointer: pointerJoin(at, 'type'), rule: 'lavendly/schema-type', message: 'a list of types is OpenAPI 3.1; in 3.0 a schema has one type (nullable: true adds null, anyOf several)' });
  }
  if (!inProperties && (typeof t === 'string' || (Array.isArray(t) && t.every((x) => typeof x === 'string')))) {
    for (const name of typeof t === 'string' ? [t] : (t as string[])) {
      if (!SCHEMA_TYPES.has(name)) {
        out.push({ severity: 'error', pointer: pointerJoin(at, 'type'), rule: 'lavendly/schema-type', message: `unknown type "${name}" (one of ${[...SCHEMA_TYPES].join(', ')})` });
      }
    }
  }
  for (const [key, value] of Object.entries(node)) {
    if (!inProperties && (key === 'enum' || key === 'const')) unsafeIntegers(value, pointerJoin(at, key), out);
    // Under `properties` every key is a property name, whatever it is called.
    if (!inProperties && (DATA_KEYS.has(key) || key.startsWith('x-'))) continue;
    walkTypes(value, pointerJoin(at, key), out, v30);
  }
}

/**
 * Integers in `enum`/`const` beyond 2^53: YAML and JSON parsers (here, and in every JavaScript
 * client) read them as the nearest double, so the generated validators would accept a different
 * number than the spec names and refuse the one it names. Refused, not rounded in silence.
 */
function unsafeIntegers(value: Json, at: string, out: LintFinding[]): void {
  const values = Array.isArray(value) ? value : [value];
  values.forEach((v, i) => {
    if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
      out.push({
        severity: 'error', pointer: Array.isArray(value) ? `${at}/${i}` : at, rule: 'lavendly/unsafe-integer',
        message: `${v} (as parsed) is beyond 2^53: JavaScript reads it as a nearby number, so it cannot be matched exactly; write it as a string (type: string) or use a smaller value`,
      });
    }
  });
}

/**
 * Spectral's `spectral:oas` recommended rules, in process. `memo` (default true) lets each distinct
 * example schema compile once (spectral-memo.ts); false runs Spectral untouched, for comparison.
 */
export async function spectralFindings(specPath: string, opts: { memo?: boolean } = {}): Promise<LintFinding[]> {
  // CommonJS packages: named exports under tsx and plain node, `default` under some bundlers.
  const [coreNs, rulesetsNs, parsersNs] = await Promise.all([
    import('@stoplight/spectral-core'), import('@stoplight/spectral-rulesets'), import('@stoplight/spectral-parsers'),
  ]);
  const core = ('Spectral' in coreNs ? coreNs : (coreNs as { default: typeof coreNs }).default) as typeof coreNs;
  const { oas } = ('oas' in rulesetsNs ? rulesetsNs : (rulesetsNs as { default: typeof rulesetsNs }).default) as typeof rulesetsNs;
  const parsers = ('Yaml' in parsersNs ? parsersNs : (parsersNs as { default: typeof parsersNs }).default) as typeof parsersNs;
  memoizeSpectralSchemaCompiles(opts.memo !== false);
  const spectral = new core.Spectral();
  spectral.setRuleset({ extends: [[oas as never, 'recommended']] });
  const text = await readFile(specPath, 'utf8');
  const doc = /\.json$/i.test(specPath) ? new core.Document(text, parsers.Json, specPath) : new core.Document(text, parsers.Yaml, specPath);
  let results: Awaited<ReturnType<typeof spectral.run>>;
  try {
    results = await spectral.run(doc);
  } catch (e) {
    return [spectralCrash(e)];
  }
  return results
    .filter((r) => r.severity <= 1)
    .map((r) => ({
      severity: r.severity === 0 ? 'error' as const : 'warning' as const,
      pointer: '#' + r.path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join(''),
      message: r.message,
      rule: String(r.code),
    }));
}

/**
 * Spectral throws on some malformed specs instead of reporting them ("Error running Nimma", an
 * AggregateError whose cause names the node): one finding with that cause and its pointer.
 */
function spectralCrash(e: unknown): LintFinding {
  let err = e as { message?: unknown; errors?: unknown[]; cause?: unknown } | undefined;
  for (let i = 0; i < 10 && err; i++) {
    const next = Array.isArray(err.errors) && err.errors.length ? err.errors[0] : err.cause;
    if (!next || typeof next !== 'object') break;
    err = next as typeof err;
  }
  const cause = typeof err?.message === 'string' ? err.message : String(e);
  const pointer = /'(#[^']*)'/.exec(cause)?.[1] ?? '#';
  return { severity: 'error', pointer, rule: 'spectral', message: `Spectral could not check the spec: ${cause} (--no-spectral skips Spectral)` };
}

export interface LintOptions {
  /** Run Spectral as well as the built-in checks (default true). */
  spectral?: boolean;
}

export async function lintSpec(specPath: string, opts: LintOptions = {}): Promise<LintFinding[]> {
  const spec = await loadSpecDocument(specPath);
  const findings = structuralFindings(spec.root);
  if (opts.spectral !== false) {
    const seen = new Set(findings.map((f) => f.pointer));
    for (const f of await cachedSpectralFindings(specPath, spec)) if (!(f.severity === 'error' && seen.has(f.pointer))) findings.push(f);
  }
  return findings;
}

/**
 * Spectral's findings depend only on the spec's files and Spectral's version, and take seconds
 * (its modules alone take ~1 s to load): they are kept on disk by content key, so only a changed
 * spec pays for them.
 */
async function cachedSpectralFindings(specPath: string, spec: LoadedSpec): Promise<LintFinding[]> {
  if (spec.remote) return spectralFindings(specPath);
  const key = spectralCacheKey(spec);
  const cached = await cacheGet<LintFinding[]>('spectral', key);
  if (cached) return cached;
  const findings = await spectralFindings(specPath);
  await cachePut('spectral', key, findings);
  return findings;
}

/** Spectral's findings are cached under `spectral-<key>`: the spec's content and Spectral's versions. */
export function spectralCacheKey(spec: LoadedSpec): string {
  const versions = ['@stoplight/spectral-core', '@stoplight/spectral-rulesets', '@stoplight/spectral-parsers'].map(packageVersion);
  return sha256('spectral:oas:recommended', ...versions, spec.contentKey);
}

export function formatFinding(f: LintFinding): string {
  return `${f.severity}: ${f.pointer}: ${f.message} [${f.rule}]`;
}

