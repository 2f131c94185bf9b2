/**
 * The route index must change how long a lookup takes, never what matches: every operation of the
 * spec, plus awkward paths (trailing slashes, other case, HEAD, unknown methods and paths), is
 * answered by the same route through the index as through @koa/router alone.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations } from '../../generated/routes.gen.js';
import { indexedRoutes } from '../../src/http/route-index.js';

/** A router with every operation of the spec; each route answers its name and params. */
function specRouter(extra?: (r: Router) => void): Router {
  const router = new Router({ prefix: '/v1' });
  extra?.(router);
  for (const meta of Object.values(operations)) {
    router.register(meta.routerPath, [meta.method.toUpperCase()], [(ctx) => {
      // What @koa/router leaves on the context for what runs after it (telemetry's route names).
      const c = ctx as unknown as Record<string, unknown>;
      ctx.body = {
        route: meta.operationId, params: ctx.params, captures: c.captures, matchedRoute: c._matchedRoute,
        matchedRouteName: c._matchedRouteName, routerPath: c.routerPath, routerName: c.routerName, routeMatched: c.routeMatched,
      };
    }], { name: meta.operationId });
  }
  return router;
}

async function listen(dispatch: (router: Router) => Koa.Middleware, extra?: (r: Router) => void): Promise<{ url: string; server: http.Server }> {
  const app = new Koa();
  app.use(dispatch(specRouter(extra)));
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { route: null };
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function answer(base: string, method: string, path: string): Promise<string> {
  const res = await fetch(base + path, { method });
  return `${res.status} ${method === 'HEAD' ? '' : await res.text()}`;
}

/** Request paths for an operation: params filled in, plus variants a client might send. */
function requestsFor(path: string): string[] {
  const filled = path.replace(/\{(\w+)\}/g, (_m, name: string) => `${name}_x1`);
  return [`/v1${filled}`, `/v1${filled}/`, `/V1${filled.toUpperCase()}`, `/v1${filled}/extra`];
}

describe('indexed routes answer exactly as the plain router', () => {
  let plain: { url: string; server: http.Server };
  let indexed: { url: string; server: http.Server };
  beforeAll(async () => {
    plain = await listen((r) => r.routes() as unknown as Koa.Middleware);
    indexed = await listen(indexedRoutes);
  });
  afterAll(() => {
    plain?.server.close();
    indexed?.server.close();
  });

  it('for every operation, its variants, and every method on its path', async () => {
    const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
    let compared = 0;
    for (const meta of Object.values(operations)) {
      for (const path of requestsFor(meta.path)) {
        for (const method of methods) {
          expect(await answer(indexed.url, method, path), `${method} ${path}`).toBe(await answer(plain.url, method, path));
          compared++;
        }
      }
    }
    // And the right route, not just the same one: each operation reaches its own handler.
    for (const meta of Object.values(operations)) {
      const res = await fetch(indexed.url + requestsFor(meta.path)[0]!, { method: meta.method.toUpperCase() });
      expect((await res.json()).route).toBe(meta.operationId);
    }
    expect(compared).toBe(Object.keys(operations).length * 4 * methods.length);
  });

  it('paths no route owns fall through to what comes after', async () => {
    for (const path of ['/', '/v1', '/v1/', '/v2/workflows', '/v1/nothing-here', '//v1//workflows', '/v1/workflows/a/b/c/d/e']) {
      expect(await answer(indexed.url, 'GET', path), path).toBe(await answer(plain.url, 'GET', path));
    }
  });

  it('a route whose first segments are parameters turns the index off rather than reorder matches', async () => {
    // Registered before the spec's routes, it wins `/v1/workflows/wf_1` on the plain router.
    const paramFirst = (r: Router) => r.get('/:anything/:id', (ctx) => { ctx.body = 'param first'; });
    const withParam = await listen(indexedRoutes, paramFirst);
    const plainWithParam = await listen((r) => r.routes() as unknown as Koa.Middleware, paramFirst);
    try {
      expect(await answer(plainWithParam.url, 'GET', '/v1/workflows/wf_1')).toBe('200 param first');
      for (const path of ['/v1/workflows/wf_1', '/v1/x/y', '/v1/workflows', '/v1/workflows/wf_1/audio']) {
        expect(await answer(withParam.url, 'GET', path), path).toBe(await answer(plainWithParam.url, 'GET', path));
      }
    } finally {
      withParam.server.close();
      plainWithParam.server.close();
    }
  });
});
