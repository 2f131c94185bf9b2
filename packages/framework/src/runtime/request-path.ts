/**
 * RFC 3986's syntax-based normalisation of a request path (6.2.2.1-2): percent-encodings in upper
 * case, and unreserved characters (letters, digits, `-._~`) that were encoded decoded. Routes are
 * registered with their literal text encoded the way fetch and curl send it (upper-case hex), and
 * the router compares text, so `/gr%c3%b6sse` or `/%70ets` named the same resource and got 404.
 * Reserved characters stay encoded: `%2F` is data, not a path separator.
 */
const ENCODED = /%[0-9a-fA-F]{2}/g;
const UNRESERVED = /[A-Za-z0-9\-._~]/;

export function normalisePath(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(ENCODED, (m) => {
    const ch = String.fromCharCode(Number.parseInt(m.slice(1), 16));
    return UNRESERVED.test(ch) ? ch : m.toUpperCase();
  });
}
