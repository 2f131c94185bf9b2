/**
 * Which credentials a request carries: the first alternative of the operation's security
 * requirement that the client holds every credential for, each sent the way its scheme says
 * (Bearer, Basic, an API key in a header, the query or a cookie). A value that would break the
 * request (CR or LF in a header, `;` in a cookie, `:` in a Basic username) is refused before
 * anything is sent; messages name the scheme, never the value.
 * Part of the SDK runtime (see index.ts): only web-standard globals (fetch, Web Crypto) and sibling files may be used.
 */

/** How a scheme's credential travels (generated from the spec's `components.securitySchemes`). */
export type SecurityScheme =
  | { type: 'bearer' }
  | { type: 'basic' }
  | { type: 'apiKey'; in: 'header' | 'query' | 'cookie'; name: string };

/** HTTP Basic: sent as `Authorization: Basic base64(utf8(username:password))`. */
export interface BasicCredentials {
  username: string;
  password: string;
}

export type Credential = string | BasicCredentials;

/** Alternatives, each the names of the schemes sent together; `[]`: no credential at all. */
export type SecurityRequirement = readonly (readonly string[])[];

/** What the client knows to authenticate with. */
export interface AuthConfig {
  schemes: Readonly<Record<string, SecurityScheme>>;
  credentials: Readonly<Record<string, Credential | undefined>>;
  /** `apiKey`: the credential of every bearer scheme not given one in `credentials`. */
  apiKey: string | undefined;
}

export interface AuthParts {
  headers: [string, string][];
  query: [string, string][];
  cookies: [string, string][];
}

const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

function credentialOf(auth: AuthConfig, name: string): Credential | undefined {
  if (!own(auth.schemes, name)) return undefined; // a scheme the SDK cannot send (digest, mutualTLS)
  const given = own(auth.credentials, name) ? auth.credentials[name] : undefined;
  if (given !== undefined && given !== null) return given;
  return auth.schemes[name]!.type === 'bearer' ? auth.apiKey || undefined : undefined;
}

/**
 * The credentials for a request under `requirement`: those of its first alternative the client
 * has every credential for (alternatives naming schemes come before an empty, optional one).
 * None when no alternative can be met: the server's 401 then says what is missing.
 * Without a requirement (a spec whose schemes are all Bearer) the API key, as Bearer, always.
 */
export function credentialsFor(requirement: SecurityRequirement | undefined, auth: AuthConfig): AuthParts {
  const parts: AuthParts = { headers: [], query: [], cookies: [] };
  if (!requirement) {
    if (auth.apiKey) parts.headers.push(['authorization', `Bearer ${auth.apiKey}`]);
    return parts;
  }
  const chosen = requirement.find((alt) => alt.length > 0 && alt.every((name) => credentialOf(auth, name) !== undefined));
  for (const name of chosen ?? []) add(parts, name, auth.schemes[name]!, credentialOf(auth, name)!);
  return parts;
}

function add(parts: AuthParts, name: string, scheme: SecurityScheme, value: Credential): void {
  if (scheme.type === 'basic') {
    if (typeof value !== 'object' || typeof value.username !== 'string' || typeof value.password !== 'string') {
      throw new TypeError(`credentials.${name}: HTTP Basic takes { username, password }`);
    }
    if (value.username.includes(':')) throw new TypeError(`credentials.${name}: a Basic username cannot contain ':' (RFC 7617)`);
    if (/[\0-\x1f\x7f]/.test(value.username + value.password)) throw new TypeError(`credentials.${name}: a control character (CR, LF, ...) in the username or password`);
    parts.headers.push(['authorization', `Basic ${base64(new TextEncoder().encode(`${value.username}:${value.password}`))}`]);
    return;
  }
  if (typeof value !== 'string') throw new TypeError(`credentials.${name}: takes a string`);
  if (/[\0\r\n]/.test(value)) throw new TypeError(`credentials.${name}: a CR, LF or NUL, which no header or URL of the SDK carries`);
  if (scheme.type === 'bearer') parts.headers.push(['authorization', `Bearer ${value}`]);
  else if (scheme.in === 'header') parts.headers.push([scheme.name, value]);
  else if (scheme.in === 'query') parts.query.push([scheme.name, value]);
  else {
    // RFC 6265 cookie-octets: anything else (`;`, `,`, space, quote) would end or split the cookie.
    if (!/^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/.test(value)) throw new TypeError(`credentials.${name}: a cookie value cannot hold spaces, quotes, ',', ';', '\\' or non-ASCII`);
    parts.cookies.push([scheme.name, value]);
  }
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Sets the credentials' headers and cookies on `headers` (a cookie joins any Cookie already there). */
export function applyAuthHeaders(headers: Headers, parts: AuthParts): void {
  for (const [k, v] of parts.headers) headers.set(k, v);
  if (parts.cookies.length) {
    const cookie = parts.cookies.map(([k, v]) => `${k}=${v}`).join('; ');
    const before = headers.get('cookie');
    headers.set('cookie', before ? `${before}; ${cookie}` : cookie);
  }
}

/** `url` with the credentials' query parameters added, URL-encoded. */
export function withAuthQuery(url: string, parts: AuthParts): string {
  if (!parts.query.length) return url;
  const search = new URLSearchParams(parts.query).toString();
  return `${url}${url.includes('?') ? '&' : '?'}${search}`;
}
