import type Router from '@koa/router';
import type Koa from 'koa';

/**
 * @koa/router finds a route by testing every route's regexp in turn, so its cost grows with the
 * number of operations (43 routes cost get_workflow ~3% of its throughput against 2; bench/http.ts).
 * This index puts each route in a bucket by method, number of path segments and its first two
 * segments when those are literal (`GET 3 v1 workflows` holds `/v1/workflows/:id`), and a request
 * is matched against its bucket's routes only: the same Layer objects in the same order, so
 * the same matching, params and middleware (the one matching route called directly, see
 * bucketDispatch). Whatever its bucket does not answer goes on to the
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
  const dispatch = new Map([...buckets].map(([key, bucket]) => [key, bucketDispatch(bucket)]));
  return (ctx, next) => {
    const bucket = dispatch.get(requestKey(ctx.method, ctx.path));
    return bucket ? bucket(ctx, () => full(ctx, next)) : full(ctx, next);
  };
}

/** The parts of @koa/router's Layer the direct dispatch uses. */
interface RouteLayer {
  path: string;
  name?: string | null;
  methods: string[];
  stack: Koa.Middleware[];
  match(path: string): boolean;
  captures(path: string): string[];
  params(path: string, captures: string[], existing?: Record<string, string>): Record<string, string>;
}

/**
 * A bucket's dispatch. When exactly one of its routes matches the path and that route is a single
 * middleware (every generated operation), it is called directly, with the context fields
 * @koa/router's own dispatch sets (matched, router, routeMatched, _matchedRoute(Name), captures,
 * params, routerPath, routerName) set the same way: the router's middleware would also read the
 * host, build a match result, a chain array and a composed function on every request. Anything
 * else (no match, several matches, a route with a chain) goes through the bucket's router as before.
 */
function bucketDispatch(bucket: Router): Koa.Middleware {
  const viaRouter = asMiddleware(bucket.routes());
  const layers = bucket.stack as unknown as RouteLayer[];
  return (ctx, next) => {
    const path = ctx.path;
    let found: RouteLayer | null = null;
    let count = 0;
    for (let i = 0; i < layers.length; i++) {
      if (layers[i]!.match(path)) {
        found = layers[i]!;
        count++;
      }
    }
    if (count !== 1 || found!.stack.length !== 1 || !found!.methods.includes(ctx.method)) return viaRouter(ctx, next);
    const layer = found!;
    const c = ctx as Koa.Context & Record<string, unknown>;
    const matched = c.matched as RouteLayer[] | undefined;
    if (matched) matched.push(layer);
    else c.matched = [layer];
    c.router = bucket;
    c.routeMatched = true;
    c._matchedRoute = layer.path;
    if (layer.name) c._matchedRouteName = layer.name;
    const captures = layer.captures(path);
    c.captures = captures;
    const params = layer.params(path, captures, c.params as Record<string, string> | undefined);
    (ctx.request as unknown as { params: unknown }).params = params;
    c.params = params;
    c.routerPath = layer.path;
    c.routerName = layer.name || undefined;
    try {
      return Promise.resolve(layer.stack[0]!(ctx, next));
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** The router's middleware types a context with its own additions (params, router), which it sets itself. */
function asMiddleware(m: ReturnType<Router['routes']>): Koa.Middleware {
  return m as unknown as Koa.Middleware;
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter(Boolean);
}

/**
 * `bucketKey(method, segmentsOf(path.toLowerCase()))` in one pass over the request's path, without
 * the arrays: it runs on every request.
 */
function requestKey(method: string, path: string): string {
  let count = 0;
  let first = '';
  let second = '';
  let start = -1;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path.charCodeAt(i) === 47 /* / */) {
      if (start >= 0 && i > start) {
        if (count === 0) first = path.slice(start, i);
        else if (count === 1) second = path.slice(start, i);
        count++;
      }
      start = i + 1;
    } else if (start < 0) start = i;
  }
  return `${method} ${count} ${first.toLowerCase()} ${second.toLowerCase()}`;
}

function bucketKey(method: string, segments: string[]): string {
  return `${method} ${segments.length} ${segments[0]?.toLowerCase() ?? ''} ${segments[1]?.toLowerCase() ?? ''}`;
}
