/**
 * Scene generation: prices, estimates, starting a generation (API side), the scene jobs (worker
 * side), status, and usage figures. The composition root builds the service once (src/app/compose.ts).
 */
import type { ModelsConfig } from '../config.js';
import type { MediaProviders } from '../media/index.js';
import type { ProviderWiring } from '../providers/index.js';
import { createGenerationProviders, type GenerationConfig, type GenerationSettings } from './providers.js';

export { DEFAULT_PRICES, mergePrices, pricesFromEnv, scenePrice } from './prices.js';
export { clipSize, createGenerationProviders, type GenerationConfig, type GenerationSettings } from './providers.js';
export { checkVideoModel, estimateCost, startedGeneration, startGeneration, sceneLabel, type SceneJobPayload } from './start.js';
export { generationJobHandlers, onSceneFailed } from './jobs.js';
export { generationStatus, phaseOf } from './status.js';
export { currentMonth, monthlyUsage, topSpenders } from './usage.js';
export {
  getGeneration, generationScenes, parseSceneError, recordUsage, sceneByReservation, type GenerationRow,
  type GenerationSceneRow,
} from './store.js';

/** What the composition root builds as `services.generation`. */
export interface GenerationService {
  settings: GenerationSettings;
  /** The media providers as configured (the API uses them for review; workers for generation). */
  providers: MediaProviders;
  notes: string[];
  /** Which provider serves each capability, and the wired models (get_status reports them). */
  wiring: ProviderWiring;
}

/** Reads the environment once; throws a readable error on bad configuration. */
export function createGenerationService(config: GenerationConfig, models: ModelsConfig): GenerationService {
  const settings = config.settings;
  const { providers, wiring, notes, models: wired } = createGenerationProviders(config.providers, models);
  return { settings, providers, notes, wiring: { ...wiring, models: wired } };
}
