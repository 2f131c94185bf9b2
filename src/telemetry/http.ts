import crypto from 'node:crypto';
import type Koa from 'koa';
import type { LavendlyState } from '../http/context.js';
import { ApiError, UnauthorizedError } from '../http/errors.js';
import type { Metrics } from './metrics.js';
import type { Tracing } from './tracing.js';

/**
 * What a request is counted and traced as: its operation id, or for the few paths outside the
 * API a fixed name. Never the raw path, so label values stay a small known set.
 */
function operationName(ctx: Koa.Context): string {
  const op = (ctx.state as LavendlyState).operationId;
  if (op) return op;
  const p = ctx.path;
  if (p === '/metrics' || p === '/livez' || p === '/readyz') return p.slice(1);
  if (p === '/mcp' || p.startsWith('/mcp/')) return 'mcp';
  if (p.startsWith('/files/')) return 'files';
  if (p === '/docs' || p.startsWith('/docs/')) return 'docs';
  return ctx.status === 404 || ctx.status === 405 ? 'unmatched' : 'other';
}

/**
 * The outermost layer when metrics or tracing is on (the app leaves it out otherwise): times the
 * request into the latency histogram by operation and final status, and runs it inside a SERVER
 * span. It sits outside the edge layer, which turns every error into a response, so the status
 * it sees is the one sent.
 */
export function telemetryLayer(metrics: Metrics | null, tracing: Tracing | null): Koa.Middleware | null {
  if (!metrics && !tracing) return null;
  const observe = (ctx: Koa.Context, started: bigint) => {
    metrics?.observeRequest(operationName(ctx), ctx.method, ctx.status, Number(process.hrtime.bigint() - started) / 1e9);
  };
  if (!tracing) {
    return async (ctx, next) => {
      const started = process.hrtime.bigint();
      try {
        await next();
      } finally {
        observe(ctx, started);
      }
    };
  }
  return (ctx, next) => {
    const started = process.hrtime.bigint();
    return tracing.request(ctx.headers, ctx.method, () => next().then(() => undefined), () => {
      observe(ctx, started);
      return { name: operationName(ctx), status: ctx.status };
    });
  };
}

/**
 * `GET /metrics` in the Prometheus text format. With a token configured the scrape must send
 * `Authorization: Bearer <token>` (compared in constant time). Other paths pass through.
 */
export function metricsEndpoint(metrics: Metrics, token: string | null): Koa.Middleware {
  const expected = token ? digest(token) : null;
  return async (ctx, next) => {
    if (ctx.path !== '/metrics') return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new ApiError('method_not_allowed', `/metrics does not accept ${ctx.method}; it accepts GET, HEAD.`, {
        method: ctx.method, allowed: ['GET', 'HEAD'],
      }, { Allow: 'GET, HEAD' });
    }
    if (expected) {
      const given = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('authorization'))?.[1];
      if (!given || !crypto.timingSafeEqual(digest(given), expected)) {
        throw new UnauthorizedError('GET /metrics needs `Authorization: Bearer <LAVENDLY_METRICS_TOKEN>`.');
      }
    }
    ctx.set('Content-Type', metrics.registry.contentType);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await metrics.registry.metrics();
  };
}

function digest(s: string): Buffer {
  return crypto.createHash('sha256').update(s).digest();
}
