import type Router from '@koa/router';
import type Koa from 'koa';

/**
 * @koa/router finds a route by testing every route's regexp in turn, so its cost grows with the
 * number of operations (43 routes cost get_workflow ~3% of its throughput against 2; bench/http.ts).
 * This index puts each route in a bucket by method, number of path segments and its first two
 * segments when those are literal (`GET 3 v1 workflows` holds `/v1/workflows/:id`), and a request
 * runs a router holding only its bucket's routes: the same Layer objects in the same order, so
 * the same matching, params and middleware. Whatever its bucket does not answer goes on to the
 * full router, so the index changes how long the lookup takes, never what matches. Built from the
 * routes registered so far; a route added later is still found, through the full router.
 */
export function indexedRoutes(router: Router): Koa.Middleware {
  const full = asMiddleware(router.routes());
  const buckets = new Map<string, Router>();
  const RouterClass = router.constructor as new () => Router;
  for (const layer of router.stack) {
    if (typeof layer.path !== 'string') return full;
    const segments = segmentsOf(layer.path);
    // Router-level middleware, or a route whose first segments are not plain literals: bucketing
    // could change which of several matching routes runs first, so keep plain dispatch.
    if (!layer.methods.length || segments.slice(0, 2).some((s) => /[:()*?+{}]/.test(s))) return full;
    for (const method of layer.methods) {
      const key = bucketKey(method, segments);
      let bucket = buckets.get(key);
      if (!bucket) buckets.set(key, (bucket = new RouterClass()));
      bucket.stack.push(layer);
    }
  }
  const dispatch = new Map([...buckets].map(([key, bucket]) => [key, asMiddleware(bucket.routes())]));
  return (ctx, next) => {
    const bucket = dispatch.get(bucketKey(ctx.method, segmentsOf(ctx.path.toLowerCase())));
    return bucket ? bucket(ctx, () => full(ctx, next)) : full(ctx, next);
  };
}

/** The router's middleware types a context with its own additions (params, router), which it sets itself. */
function asMiddleware(m: ReturnType<Router['routes']>): Koa.Middleware {
  return m as unknown as Koa.Middleware;
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter(Boolean);
}

function bucketKey(method: string, segments: string[]): string {
  return `${method} ${segments.length} ${segments[0]?.toLowerCase() ?? ''} ${segments[1]?.toLowerCase() ?? ''}`;
}
