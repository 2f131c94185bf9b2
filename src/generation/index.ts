/**
 * Scene generation: prices, estimates, starting a generation (API side), the scene jobs (worker
 * side), status, and usage figures. The app's wiring builds the service once (src/http/services.ts).
 */
import { modelsFromEnv, type ModelsConfig } from '../config.js';
import type { MediaProviders } from '../media/index.js';
import type { ProviderWiring } from '../providers/index.js';
import { createGenerationProviders, generationSettingsFromEnv, type GenerationSettings } from './providers.js';

export { DEFAULT_PRICES, mergePrices, pricesFromEnv, scenePrice, type PriceTable, type VideoPrice } from './prices.js';
export { clipSize, createGenerationProviders, generationSettingsFromEnv, type GenerationProviders, type GenerationSettings } from './providers.js';
export { checkVideoModel, estimateCost, startGeneration, priceOf, workflowModel, sceneLabel, SCENE_JOB, type CostEstimate, type SceneJobPayload, type StartedGeneration } from './start.js';
export { generationJobHandlers, onSceneFailed, type GenerationJobDeps } from './jobs.js';
export { generationStatus, phaseOf, type GenerationStatusView, type SceneProgress } from './status.js';
export { currentMonth, monthBounds, monthlyUsage, topSpenders, type MonthUsage, type SpenderUsage } from './usage.js';
export {
  activeGeneration, getGeneration, generationScenes, latestGeneration, parseSceneError, recordUsage, sceneByReservation,
  type GenerationRow, type GenerationSceneRow,
} from './store.js';

/** What `createServices` registers as `services.generation`. */
export interface GenerationService {
  settings: GenerationSettings;
  /** The media providers as configured (the API uses them for review; workers for generation). */
  providers: MediaProviders;
  notes: string[];
}

/** Reads the environment once; throws a readable error on bad configuration. */
export function createGenerationService(env: NodeJS.ProcessEnv = process.env, models: ModelsConfig = modelsFromEnv(env)): GenerationService & { wiring: ProviderWiring } {
  const settings = generationSettingsFromEnv(env, models);
  const { providers, wiring, notes, models: wired } = createGenerationProviders(env, models);
  return { settings, providers, notes, wiring: { ...wiring, models: wired } };
}
