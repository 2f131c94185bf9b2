/**
 * Every artifact, in emission order. Modules are loaded lazily so that `--only types` does not pay
 * for (or depend on) the other emitters.
 */
import type { Emitter } from '../shared/emitter.js';

export interface RegistryEntry {
  name: string;
  load: () => Promise<{ emitter: Emitter }>;
}

export const registry: RegistryEntry[] = [
  { name: 'types', load: () => import('./types.js') },
  { name: 'validators', load: () => import('./validators.js') },
  { name: 'routes', load: () => import('./routes.js') },
  { name: 'errors', load: () => import('./errors.js') },
  { name: 'handlers', load: () => import('./handlers.js') },
  { name: 'catalog', load: () => import('./catalog.js') },
  { name: 'mcp', load: () => import('./mcp.js') },
  { name: 'sdk', load: () => import('./sdk.js') },
  { name: 'python', load: () => import('./python.js') },
  { name: 'samples', load: () => import('./samples.js') },
];

export const emitterNames = registry.map((e) => e.name);

export async function loadEmitters(only?: string[]): Promise<Emitter[]> {
  const unknown = (only ?? []).filter((n) => !emitterNames.includes(n));
  if (unknown.length) throw new Error(`unknown emitter(s): ${unknown.join(', ')} (known: ${emitterNames.join(', ')})`);
  const picked = only?.length ? registry.filter((e) => only.includes(e.name)) : registry;
  return Promise.all(picked.map(async (e) => (await e.load()).emitter));
}
