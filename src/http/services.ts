import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/knex.js';
import type { CreditGranter } from '../accounts/accounts.js';
import { grant } from '../ledger/index.js';
import { createStorage, loadSigningSecret, purposeKey } from '../storage/index.js';
import { AccountsService } from '../accounts/service.js';
import { ConsoleAuth } from '../console-auth/service.js';
import { createGenerationService, type GenerationService } from '../generation/index.js';
import { useBinaries } from '../media/binaries.js';
import { PLATFORMS } from '../publish/index.js';
import { serviceOf, type Services } from './context.js';

export interface ServiceDeps {
  config: Config;
  db: Db;
  logger: Logger;
  /** How long a key lookup is cached (ms); 0 disables. Default: `config.authCacheTtlMs`
   *  (LAVENDLY_AUTH_CACHE_MS or 500: revocation must reach every process within a second). */
  authCacheTtlMs?: number;
}

/** New accounts receive their starting credits as a ledger grant, in the account's transaction. */
const creditGranter: CreditGranter = async (db, accountId, credits, reason) => {
  await grant(db, accountId, credits, reason);
};

/**
 * Builds the services registry handlers reach through `ctx.services`. Each module that needs
 * wiring adds itself here (ledger, jobs, storage, media providers, publishing ...).
 */
export async function createServices(deps: ServiceDeps): Promise<Services> {
  const authCacheTtlMs = deps.authCacheTtlMs ?? deps.config.authCacheTtlMs;
  useBinaries(deps.config.media);
  const secret = await loadSigningSecret(deps.config);
  // Generation (src/generation): prices, clip size and media providers as configured.
  const generation = createGenerationService(deps.config.generation, deps.config.models);
  const services: Services = {
    accounts: new AccountsService(deps.db, creditGranter, authCacheTtlMs),
    providers: { ...generation.wiring, publishers: [...PLATFORMS] },
    generation,
    storage: createStorage({ dataDir: deps.config.dataDir, publicBaseUrl: deps.config.publicBaseUrl, secret, storage: deps.config.storage }),
    cursorSecret: purposeKey(secret, 'cursor:v1').toString('base64url'),
    consoleAuth: new ConsoleAuth(deps.db, deps.config.consoleAuth),
  };
  return services;
}

/** The generation service of a registry (built from the configuration if nobody registered one). */
export function generationOf(ctx: { services: Services; config: Pick<Config, 'generation' | 'models'> }): GenerationService {
  return serviceOf(ctx.services, 'generation', () => createGenerationService(ctx.config.generation, ctx.config.models));
}
