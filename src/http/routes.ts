import type Router from '@koa/router';
import type { Runtime } from './runtime.js';

/**
 * Mounts the generated operations with the hand-written handlers. Placeholder until
 * generated/routes.gen.ts exists.
 */
export async function mountGenerated(_router: Router, _runtime: Runtime): Promise<void> {
  throw new Error('generated/routes.gen.ts is not available yet: run `npm run generate`');
}
