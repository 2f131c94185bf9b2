/**
 * The composition root: the one place the app is wired. From the typed Config (and a database and
 * a logger) it builds every service, the handlers and the job handlers, once, at start-up, so a
 * missing piece fails `tsc` or the start, never the first request that needs it. `serve`, the
 * job worker and the tests all build through here; tests replace single services with `overrides`.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { Handlers } from '../../generated/handlers.gen.js';
import type { CreditGranter } from '../accounts/accounts.js';
import { KeyUseRecorder } from '../accounts/manage.js';
import { AccountsService } from '../accounts/service.js';
import { TransferBudget } from '../assets/index.js';
import { ConfigError, type Config } from '../config.js';
import { ConsoleAuth } from '../console-auth/service.js';
import type { Db } from '../db/knex.js';
import { createGenerationService, generationJobHandlers } from '../generation/index.js';
import type { AppContext, Services } from '../http/context.js';
import type { HandlerEntry } from '../jobs/index.js';
import { grant } from '../ledger/index.js';
import { ffmpegPath, ffprobePath, useBinaries } from '../media/binaries.js';
import { mediaToolsProblem } from '../media/preflight.js';
import { PLATFORMS, publishJobHandlers, publishOptionsFor } from '../publish/index.js';
import { renderJobHandlers } from '../renders/index.js';
import { createStorage, loadSigningSecret, purposeKey } from '../storage/index.js';
import { hideFromCustomers } from '../util/local-paths.js';
import { webhookJobHandlers } from '../webhooks/index.js';
import { workflowCleanupJobHandlers } from '../workflows/file-cleanup.js';
import { handlers } from './handlers.js';

/** What the job handlers and the worker's sweeps use: built without a database, so a standalone
 *  worker can build them before its database is open. */
type JobServices = Pick<Services, 'storage' | 'generation' | 'webhookOptions' | 'publish'>;

/** Every job type this codebase defines, with its handler. */
export type JobHandlers = Record<string, HandlerEntry>;

/** What a job worker runs: its services and the handlers built from them. */
export interface JobComposition {
  services: JobServices;
  jobHandlers: JobHandlers;
}

/** The whole app: the services handlers reach through `ctx.services`, the handlers, the job handlers. */
export interface Composition extends JobComposition {
  services: Services;
  handlers: Handlers<AppContext>;
}

/** New accounts receive their starting credits as a ledger grant, in the account's transaction. */
const creditGranter: CreditGranter = async (db, accountId, credits, reason) => {
  await grant(db, accountId, credits, reason);
};

/** The job services; a service given in `overrides` is used instead of the configured one. */
async function createJobServices(config: Config, logger: Logger, overrides: Partial<Services>): Promise<JobServices & { signingSecret: Buffer }> {
  useBinaries(config.media);
  // Every process composed here probes or renders media (the API probes uploads): refused at start
  // rather than failing each job three times.
  const mediaProblem = mediaToolsProblem();
  if (mediaProblem) throw new ConfigError(mediaProblem);
  for (const dir of [config.dataDir, path.dirname(ffmpegPath()), path.dirname(ffprobePath())]) hideFromCustomers(dir);
  const signingSecret = await loadSigningSecret(config);
  const generation = overrides.generation ?? createGenerationService(config.generation, config.models);
  for (const note of generation.notes) logger.warn({ note }, 'generation providers configured for tests or demos');
  const storage = overrides.storage
    ?? createStorage({ dataDir: config.dataDir, publicBaseUrl: config.publicBaseUrl, secret: signingSecret, storage: config.storage });
  return {
    signingSecret,
    generation,
    storage,
    webhookOptions: overrides.webhookOptions ?? config.webhooks,
    publish: overrides.publish ?? publishOptionsFor(config, storage),
  };
}

/** Each module with jobs contributes its handlers here. */
function createJobHandlers(services: JobServices): JobHandlers {
  return {
    ...generationJobHandlers({ providers: services.generation.providers, storage: services.storage }),
    ...webhookJobHandlers(services.webhookOptions),
    ...publishJobHandlers(services.publish),
    ...renderJobHandlers({ storage: services.storage }),
    ...workflowCleanupJobHandlers({ storage: services.storage }),
  };
}

export interface ComposeDeps {
  config: Config;
  db: Db;
  logger: Logger;
}

/** Builds every service; `overrides` replaces single ones (tests: a loopback webhook policy, small clips ...). */
async function createServices(deps: ComposeDeps, overrides: Partial<Services> = {}): Promise<Services> {
  const { config, db } = deps;
  const { signingSecret, ...jobs } = await createJobServices(config, deps.logger, overrides);
  return {
    ...jobs,
    accounts: overrides.accounts ?? new AccountsService(db, creditGranter, config.authCacheTtlMs),
    providers: overrides.providers ?? { ...jobs.generation.wiring, publishers: [...PLATFORMS] },
    cursorSecret: overrides.cursorSecret ?? purposeKey(signingSecret, 'cursor:v1').toString('base64url'),
    consoleAuth: overrides.consoleAuth ?? new ConsoleAuth(db, config.consoleAuth),
    assetsConfig: overrides.assetsConfig ?? config.assets,
    assetTransfers: overrides.assetTransfers ?? new TransferBudget(config.transfersPerAccount, db),
    oauthProviders: overrides.oauthProviders ?? config.oauthProviders,
    keyUse: overrides.keyUse ?? new KeyUseRecorder(db),
  };
}

/** The API process: services, handlers and (for the worker beside it) job handlers. */
export async function compose(deps: ComposeDeps, overrides: Partial<Services> = {}): Promise<Composition> {
  const services = await createServices(deps, overrides);
  return { services, handlers, jobHandlers: createJobHandlers(services) };
}

/** A standalone job worker: the job services and handlers, before any database is open. */
export async function composeWorker(deps: { config: Config; logger: Logger }, overrides: Partial<Services> = {}): Promise<JobComposition> {
  const { signingSecret: _unused, ...services } = await createJobServices(deps.config, deps.logger, overrides);
  return { services, jobHandlers: createJobHandlers(services) };
}
