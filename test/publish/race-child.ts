// One of several processes racing to run the same publication (see service.test.ts).
import { createDb } from '../../src/db/knex.js';
import { createPublishers } from '../../src/publish/publishers.js';
import { runPublication } from '../../src/publish/runner.js';

const [publicationId] = process.argv.slice(2) as [string];
const db = createDb({ databaseUrl: process.env.DATABASE_URL || null, dataDir: process.env.LAVENDLY_DATA_DIR! });
try {
  // Connect first, say so, and wait for the parent's go (a line on stdin) so the race is on the claim.
  await db.raw('select 1');
  process.stdout.write('ready\n');
  await new Promise((r) => process.stdin.once('data', r));
  process.stdin.pause();
  const publishers = createPublishers({ dataDir: process.env.LAVENDLY_DATA_DIR!, youtube: { apiBaseUrl: process.env.LAVENDLY_YOUTUBE_API_URL! } });
  const outcome = await runPublication(db, publicationId, { publishers, secrets: { secretKey: process.env.LAVENDLY_CREDENTIALS_KEY! } });
  process.stdout.write(`${JSON.stringify({ outcome })}\n`);
} finally {
  await db.destroy();
}
