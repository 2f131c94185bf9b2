/**
 * What `serve` deletes once a minute: rows and files that requests leave behind and no request
 * comes back for. Expired idempotency keys, upload slots that expired unused, OAuth clients that
 * never got a token, staging files of transfers that crashed midway. Each sweep takes at most
 * 1000 rows a tick; each failure is logged once until that sweep works again.
 */
import type { Logger } from 'pino';
import { sweepExpiredSlots } from '../assets/uploads.js';
import type { Db } from '../db/knex.js';
import { sweepUnusedClients } from '../oauth/clients.js';
import type { Storage } from '../storage/index.js';
import { failureLog } from '../util/failure-log.js';
import { SqlIdempotencyStore } from './idempotency-store.js';

/** One tick of the minute sweep; it settles when every sweep has (none ever rejects). */
export function minuteSweep(db: Db, storage: Storage, logger: Logger): () => Promise<void> {
  const store = new SqlIdempotencyStore(db, { windowS: 1 });
  const keyLog = failureLog(logger, 'idempotency key sweep');
  const slotLog = failureLog(logger, 'upload slot sweep');
  const clientLog = failureLog(logger, 'OAuth client sweep');
  const stagingLog = failureLog(logger, 'staging file sweep');
  return async () => {
    await Promise.all([
      store.sweep().then(keyLog.succeeded, keyLog.failed),
      sweepExpiredSlots(db).then(slotLog.succeeded, slotLog.failed),
      sweepUnusedClients(db).then(clientLog.succeeded, clientLog.failed),
      storage.sweepStaging().then((n) => {
        stagingLog.succeeded();
        if (n) logger.info({ files: n }, 'removed abandoned staging files');
      }, stagingLog.failed),
    ]);
  };
}
