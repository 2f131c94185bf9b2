/**
 * The Python SDK's side of generator/shared/sdk-security.ts: the `credentials` TypedDict of the
 * client, the scheme table and default requirement in DEFAULTS, each operation's requirement.
 */
import { pyStr } from '../schema/python.js';
import type { SdkSecurity } from './sdk-security.js';

/** `[["a", "b"], []]`: a requirement as a Python literal. */
export function pyRequirement(requirement: string[][]): string {
  return `[${requirement.map((alt) => `[${alt.map(pyStr).join(', ')}]`).join(', ')}]`;
}

/** `X = TypedDict("X", {...}, total=False)`: the functional form, as scheme names need not be identifiers. */
export function pyCredentialsType(security: SdkSecurity, name: string): string[] {
  const fields = [...security.schemes].map(([scheme, s]) => `    ${pyStr(scheme)}: ${s.type === 'basic' ? 'BasicCredentials' : 'str'},`);
  return [
    `${name} = TypedDict(${pyStr(name)}, {`,
    ...fields,
    '}, total=False)',
    `"""Credentials by security scheme of the spec: a string (API key, bearer token) or BasicCredentials`,
    'for HTTP Basic. Each goes only to the operations that require its scheme; a bearer scheme defaults',
    'to `api_key`."""',
  ];
}

/** The DEFAULTS entries: the scheme table (`in` is `location` in Python) and the document's requirement. */
export function pyDefaultsEntries(security: SdkSecurity, documentSecurity: string[][]): string[] {
  const schemes = [...security.schemes].map(([name, s]) => {
    const fields = [`"type": ${pyStr(s.type)}`, ...(s.type === 'apiKey' ? [`"location": ${pyStr(s.in)}`, `"name": ${pyStr(s.name)}`] : [])];
    return `        ${pyStr(name)}: {${fields.join(', ')}},`;
  });
  return ['    "security_schemes": {', ...schemes, '    },', `    "security": ${pyRequirement(documentSecurity)},`];
}
