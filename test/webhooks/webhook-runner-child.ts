/**
 * A webhook runner process for the cross-process delivery tests: a worker that runs
 * `webhook.deliver` jobs and the sweeper beside it, on the database named by DATABASE_URL (or the
 * SQLite file under LAVENDLY_DATA_DIR). Receivers on 127.0.0.1 are allowed (test-only), and each
 * runner signs its attempts with `user-agent: runner/<WORKER_ID>` so a test can tell who sent what.
 * Prints `ready` once running; exits 0 after SIGTERM.
 *
 * It does not follow the database server's clock: its wall clock is its cluster clock, so the
 * step preload (test/helpers/clock-step.mjs) given to every runner steps the clock they all share,
 * as the machine's clock steps on SQLite or the database server's on PostgreSQL.
 *
 *   node --import tsx test/webhooks/webhook-runner-child.ts
 */
import { createDb } from '../../src/db/knex.js';
import { runWorker } from '../../src/jobs/worker-main.js';
import { startSweeper } from '../../src/publish/sweeper.js';
import { webhookJobHandlers, type WebhookOptions } from '../../src/webhooks/index.js';

const env = process.env;
const config = { databaseUrl: env.DATABASE_URL || null, dataDir: env.LAVENDLY_DATA_DIR! };
const options: Partial<WebhookOptions> = {
  addressPolicy: { allowLoopback: true },
  userAgent: `runner/${env.WORKER_ID}`,
  ...(env.LOCK_MS ? { lockMs: Number(env.LOCK_MS) } : {}),
};
// Its own handle: runWorker follows the database server's clock only for a handle it opens.
const db = createDb(config);
const running = await runWorker({
  config, db, workerId: env.WORKER_ID, pollMs: 20, sweepReservationsMs: null, handlers: webhookJobHandlers(options),
});
const sweeper = startSweeper(db, { webhooks: options, intervalMs: Number(env.SWEEP_MS ?? 100) });
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void (async () => {
    await sweeper.stop();
    await running.stop();
    await db.destroy();
    process.exit(0);
  })();
});
