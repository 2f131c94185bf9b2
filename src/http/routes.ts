import type Router from '@koa/router';
import { mountRoutes } from '../../generated/routes.gen.js';
import { handlers } from './handlers.js';
import type { Runtime } from './route-runtime.js';

/** Mounts every generated operation with the hand-written handlers. */
export function mountGenerated(router: Router, runtime: Runtime): void {
  mountRoutes(router, handlers, runtime);
}
