/**
 * `lavendly/security-scheme`: a security scheme the generated SDKs cannot satisfy. Their clients
 * send one credential, `Authorization: Bearer <apiKey>` (templates/sdk-runtime/client.ts,
 * python-runtime/_core.py), which is what `http` bearer, `oauth2` and `openIdConnect` take. An
 * API key in a header of another name, in the query or in a cookie, HTTP Basic or Digest, or
 * mutual TLS would be sent the wrong way and every call refused; said here, as nothing else would.
 */
import { pointerJoin } from './names.js';
import { isObject, type Json, type JsonObject } from './spec-doc.js';
import type { LintFinding } from './lint.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function sentAsBearer(scheme: JsonObject): boolean {
  if (scheme.type === 'oauth2' || scheme.type === 'openIdConnect') return true;
  return scheme.type === 'http' && typeof scheme.scheme === 'string' && scheme.scheme.toLowerCase() === 'bearer';
}

function describe(scheme: JsonObject): string {
  if (scheme.type === 'apiKey') return `an API key in the ${String(scheme.in)} "${String(scheme.name)}"`;
  if (scheme.type === 'http') return `HTTP ${String(scheme.scheme)} authentication`;
  return `a "${String(scheme.type)}" scheme`;
}

/** Names of the schemes some security requirement (the document's or an operation's) uses. */
function usedSchemes(root: JsonObject): Set<string> {
  const used = new Set<string>();
  const add = (security: Json | undefined) => {
    if (Array.isArray(security)) for (const req of security) if (isObject(req)) for (const name of Object.keys(req)) used.add(name);
  };
  add(root.security);
  for (const item of Object.values(isObject(root.paths) ? root.paths : {})) {
    if (isObject(item)) for (const m of METHODS) if (isObject(item[m])) add((item[m] as JsonObject).security);
  }
  return used;
}

export function unsupportedSecuritySchemes(root: JsonObject, resolve: (ref: string) => Json): LintFinding[] {
  const components = isObject(root.components) ? root.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  const out: LintFinding[] = [];
  for (const name of usedSchemes(root)) {
    let scheme = schemes[name];
    for (let hops = 0; isObject(scheme) && typeof scheme.$ref === 'string' && hops < 10; hops++) scheme = resolve(scheme.$ref);
    if (!isObject(scheme) || sentAsBearer(scheme)) continue;
    out.push({
      severity: 'warning', pointer: pointerJoin('#/components/securitySchemes', name), rule: 'lavendly/security-scheme',
      message: `the generated SDKs send their credential as "Authorization: Bearer <apiKey>" only; ${describe(scheme)} is not implemented, so their calls to operations requiring "${name}" will not authenticate`,
    });
  }
  return out;
}
