/**
 * The credentials the generated SDKs can send, per security scheme of the spec, and what each
 * operation requires. Shared by the TypeScript and Python emitters and the lint
 * (`lavendly/security-scheme` warns of the schemes left out here).
 */
import type { IrDocument } from '../ir-types.js';

/** How one scheme's credential travels; the runtimes (client.ts, _core.py) read this table. */
export type SdkScheme =
  | { type: 'bearer' }
  | { type: 'basic' }
  | { type: 'apiKey'; in: 'header' | 'query' | 'cookie'; name: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The SDK's form of a scheme object, or null when the SDKs cannot send it (digest, mutualTLS, ...). */
export function sdkScheme(scheme: unknown): SdkScheme | null {
  if (!isObject(scheme)) return null;
  if (scheme.type === 'oauth2' || scheme.type === 'openIdConnect') return { type: 'bearer' };
  if (scheme.type === 'http' && typeof scheme.scheme === 'string') {
    const kind = scheme.scheme.toLowerCase();
    if (kind === 'bearer') return { type: 'bearer' };
    if (kind === 'basic') return { type: 'basic' };
    return null;
  }
  if (scheme.type === 'apiKey' && typeof scheme.name === 'string' && scheme.name && (scheme.in === 'header' || scheme.in === 'query' || scheme.in === 'cookie')) {
    return { type: 'apiKey', in: scheme.in, name: scheme.name };
  }
  return null;
}

export interface SdkSecurity {
  /** Every scheme some requirement names that the SDKs can send, by scheme name (spec order). */
  schemes: Map<string, SdkScheme>;
  /** The document's default requirement: what a download from the API's origin is sent with. */
  documentSecurity: string[][];
}

/** Names of the schemes any requirement of the document or an operation names. */
function usedSchemeNames(ir: IrDocument, documentSecurity: string[][]): Set<string> {
  const used = new Set<string>();
  for (const req of [...documentSecurity, ...ir.operations.flatMap((op) => op.security)]) for (const name of req) used.add(name);
  return used;
}

/**
 * Null when every scheme in use is sent as `Authorization: Bearer <apiKey>` (the API's own spec):
 * the SDKs then send the key with every request, as they always have, and their descriptors say
 * nothing of security. Otherwise the schemes and requirements the runtime picks credentials by.
 */
export function sdkSecurity(ir: IrDocument): SdkSecurity | null {
  const documentSecurity = ir.security;
  const schemes = new Map<string, SdkScheme>();
  let onlyBearer = true;
  const used = usedSchemeNames(ir, documentSecurity);
  for (const [name, raw] of Object.entries(ir.securitySchemes)) {
    if (!used.has(name)) continue;
    const scheme = sdkScheme(raw);
    if (scheme?.type !== 'bearer') onlyBearer = false;
    if (scheme) schemes.set(name, scheme);
  }
  return onlyBearer ? null : { schemes, documentSecurity };
}
