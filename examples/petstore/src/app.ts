/** The glue: the generated routes, the handlers and the framework's runtime, as a Koa app. */
import { createApp, createRuntime, MemoryIdempotencyStore } from '@lavendly/framework';
import { handlers } from '../handlers/index.js';
import { basePath, mountRoutes } from '../generated/routes.gen.js';
import { PetStore, type PetContext } from './store.js';

export function petstoreApp(store = new PetStore()) {
  const context: PetContext = { store, cursorSecret: 'petstore-example' };
  const runtime = createRuntime<PetContext>({
    context: () => context,
    idempotency: { store: new MemoryIdempotencyStore() },
    responseValidation: 'throw',
  });
  return createApp({ basePath, mount: (router) => mountRoutes(router, handlers, runtime) });
}
