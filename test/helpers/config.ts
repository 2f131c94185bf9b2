import { loadConfig, type Config } from '../../src/config.js';
import { createGenerationService } from '../../src/generation/index.js';

/** The generation service an environment configures, built the way the composition root builds it. */
export function generationFromEnv(env: NodeJS.ProcessEnv) {
  const config = loadConfig(env);
  return createGenerationService(config.generation, config.models);
}

/** `config` with the worker tuning an environment sets (LAVENDLY_WORKER_POLL_MS ...). */
export function withWorkerEnv(config: Config, env: NodeJS.ProcessEnv): Config {
  return { ...config, worker: loadConfig(env).worker };
}
