/**
 * `lavendly/security-scheme`: a security scheme the generated SDKs cannot satisfy. They send a
 * bearer token (`http` bearer, `oauth2`, `openIdConnect`), HTTP Basic and an API key in a header,
 * the query or a cookie (generator/shared/sdk-security.ts); HTTP Digest or another `http`
 * scheme, and mutual TLS, they do not, and every call requiring only those would be refused:
 * said here, as nothing else would.
 */
import { pointerJoin } from './names.js';
import { isObject, type Json, type JsonObject } from './spec-doc.js';
import type { LintFinding } from './lint.js';
import { sdkScheme } from './shared/sdk-security.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function describe(scheme: JsonObject): string {
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
    if (!isObject(scheme) || sdkScheme(scheme)) continue;
    out.push({
      severity: 'warning', pointer: pointerJoin('#/components/securitySchemes', name), rule: 'lavendly/security-scheme',
      message: `the generated SDKs send bearer tokens, HTTP Basic and API keys (header, query, cookie); ${describe(scheme)} is not implemented, so their calls to operations requiring only "${name}" will not authenticate`,
    });
  }
  return out;
}
