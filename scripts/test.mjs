// The test command: a throwaway PostgreSQL for the run, then vitest, so that every database test
// runs on both SQLite and PostgreSQL. Extra arguments go to vitest.
import { spawnSync } from 'node:child_process';
import { startPostgres } from './pg.mjs';

const pg = process.env.LAVENDLY_TEST_PG_URL ? null : startPostgres();
const env = { ...process.env };
if (pg) env.LAVENDLY_TEST_PG_URL = pg.url;
if (!env.LAVENDLY_TEST_PG_URL) console.warn('test: no PostgreSQL found; database tests run on SQLite only');
let status = 1;
try {
  const result = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit', env });
  status = result.status ?? 1;
} finally {
  pg?.stop();
}
process.exit(status);
