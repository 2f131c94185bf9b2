import type Koa from 'koa';
import type { DatabaseHealth } from '../db/health.js';

/**
 * Probes for whatever runs the process (a container runtime, a load balancer), outside /v1 and
 * outside the spec: they describe this process, not the API, and need no key.
 *   GET /livez   200 while the process can answer at all (restart it when this fails)
 *   GET /readyz  200 when it should get traffic; 503 while the database is unreachable or the
 *                server drains on shutdown (send traffic elsewhere, do not restart)
 * `GET /v1/_status` stays the API's own status report.
 */
export function probes(opts: { draining: () => boolean; health: DatabaseHealth }): Koa.Middleware {
  return async (ctx, next) => {
    const path = ctx.path;
    if ((path !== '/livez' && path !== '/readyz') || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.set('Cache-Control', 'no-store');
    if (path === '/livez') {
      ctx.body = { status: 'ok' };
      return;
    }
    if (opts.health.state === 'unknown') await opts.health.check();
    const draining = opts.draining();
    const database = opts.health.state;
    const ready = !draining && database === 'up';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', database, draining };
  };
}
