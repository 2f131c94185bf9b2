/**
 * CORS, so that the SDK runs in a browser page served from another origin. Keys travel in the
 * `Authorization` header, never in cookies, so no credentials mode is offered and `*` (the
 * default) lets a page call the API only with a key its user gave it.
 *
 * A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here, 204,
 * before authentication (browsers send preflights without credentials). Other requests from an
 * allowed origin get Allow-Origin and the response headers a client needs exposed; these survive
 * an error envelope (the framework's envelope keeps them).
 */
import type Koa from 'koa';

/** What the SDK and other clients send beyond the CORS-safelisted headers. */
export const CORS_ALLOWED_HEADERS = [
  'Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match', 'X-Request-Id', 'Traceparent', 'Tracestate',
  'Mcp-Protocol-Version', 'Mcp-Session-Id', 'Last-Event-Id',
];
/** Response headers a browser client may read besides the safelisted ones. */
export const CORS_EXPOSED_HEADERS = [
  'X-Request-Id', 'Retry-After', 'Retry-After-Ms', 'Idempotent-Replayed', 'ETag', 'Location',
  'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Mcp-Session-Id',
  // /mcp's 401 names the OAuth metadata there (src/http/console/mcp-oauth.ts).
  'WWW-Authenticate',
];
const METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
/** How long a browser may reuse a preflight answer, in seconds. */
const MAX_AGE_S = 600;

/**
 * `origins`: `['*']` for any origin, a list of exact origins (`https://app.example.com`), or empty
 * for no CORS at all (config: LAVENDLY_CORS_ORIGINS).
 */
export function cors(origins: readonly string[]): Koa.Middleware {
  const any = origins.includes('*');
  const listed = new Set(origins);
  const allowedHeaders = CORS_ALLOWED_HEADERS.join(', ');
  const exposed = CORS_EXPOSED_HEADERS.join(', ');
  // Not async: most requests carry no Origin and go straight on, without a promise of their own.
  return (ctx, next) => {
    const origin = ctx.get('Origin');
    if (!origin || (!any && !listed.has(origin))) return next();
    ctx.set('Access-Control-Allow-Origin', any ? '*' : origin);
    if (!any) ctx.vary('Origin');
    if (ctx.method === 'OPTIONS' && ctx.get('Access-Control-Request-Method')) {
      ctx.set('Access-Control-Allow-Methods', METHODS);
      ctx.set('Access-Control-Allow-Headers', allowedHeaders);
      ctx.set('Access-Control-Max-Age', String(MAX_AGE_S));
      ctx.status = 204;
      return;
    }
    ctx.set('Access-Control-Expose-Headers', exposed);
    return next();
  };
}
