// Processes on several machines compare times each wrote with its own clock (job leases above
// all). A worker whose clock ran a lease (30 s) ahead took running jobs from live workers, so
// jobs ran twice; nothing noticed. `serve` and `worker` on PostgreSQL now refuse to start when
// their clock is more than 5 s off the database server's.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkClock } from '../../src/db/clock.js';
import { freshDb, testDatabases, type FreshDb } from '../helpers/db.js';
import { runCli } from '../helpers/cli-run.js';

describe.skipIf(!testDatabases().includes('postgres'))('a process whose clock is off the database server\'s', () => {
  let fresh: FreshDb;
  beforeAll(async () => { fresh = await freshDb('postgres'); });
  afterAll(async () => { await fresh.close(); });

  it('checkClock passes a few seconds either way and refuses more, saying which way', async () => {
    await checkClock(fresh.db, () => Date.now() + 3_000);
    await checkClock(fresh.db, () => Date.now() - 3_000);
    await expect(checkClock(fresh.db, () => Date.now() + 60_000)).rejects.toThrow(/^this machine's clock is (59\.\d|60\.\d) s ahead of the database server's .* synchronise the clocks \(NTP\)$/);
    await expect(checkClock(fresh.db, () => Date.now() - 60_000)).rejects.toThrow(/^this machine's clock is (59\.\d|60\.\d) s behind the database server's/);
  });

  it('serve and worker with a clock a minute ahead stop with one line', async () => {
    // The whole process sees a clock one minute ahead, as on a machine whose clock is wrong.
    const preload = path.join(fresh.dataDir, 'clock-ahead.mjs');
    fs.writeFileSync(preload, 'const now = Date.now; Date.now = () => now() + 60_000;\n');
    const env = { ...process.env, DATABASE_URL: fresh.databaseUrl!, LAVENDLY_DATA_DIR: fresh.dataDir, HOST: '127.0.0.1', PORT: '0', NODE_OPTIONS: `--import ${preload}` };
    const runs = await Promise.all(['serve', 'worker'].map((command) => runCli([command], env)));
    for (const r of runs) {
      expect(r.code).toBe(1);
      expect(r.lines).toEqual([expect.stringMatching(/^lavendly: error: this machine's clock is \d+\.\d s ahead of the database server's/)]);
    }
  });
});
