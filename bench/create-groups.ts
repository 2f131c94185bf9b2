/**
 * Group-commit bench for create_workflow on SQLite (prints figures; not a test).
 *
 *   npx tsx bench/create-groups.ts [--creates 20000] [--rounds 5] [--groups 1,4,16,64]
 *
 * The store alone, no HTTP: `createWorkflow` with three scenes, started `group` at a time in one
 * turn of the event loop, so they share one COMMIT with a savepoint each (src/db/sqlite-group.ts;
 * under the HTTP bench's 16 connections a group holds ~3-16). For each group size, this process's
 * CPU per create (user + system, the WAL checkpoint thread included) with the statement journal
 * in memory (`temp_store = MEMORY`, what every connection gets) against SQLite's default, which
 * moves a journal past 64 KiB into a temporary file (in SQLITE_TMPDIR, else /var/tmp). Both run
 * on one database file on tmpfs, on one connection switched between rounds, which alternate; the
 * median round is shown, and memory/file is the ratio of the medians.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createAccount } from '../src/accounts/accounts.js';
import { createDb, migrate } from '../src/db/knex.js';
import { startWalCheckpointer } from '../src/db/wal-checkpointer.js';
import { createWorkflow } from '../src/workflows/store.js';

const { values } = parseArgs({ options: {
  creates: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' }, groups: { type: 'string', default: '1,4,16,64' },
} });
const creates = Number(values.creates);
const rounds = Number(values.rounds);
const groups = values.groups.split(',').map(Number);
const SHOTS = [
  { prompt: 'A sleepy fox noses through a dusty bookshop.', image_prompt: 'Watercolour bookshop at dusk.', duration_s: 5 },
  { prompt: 'The map unfolds and its lines glow gold.', duration_s: 5 },
  { prompt: 'The fox steps through a doorway of warm light.', duration_s: 5 },
];

const dataDir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'lavendly-bench-groups-'));
const db = createDb({ databaseUrl: null, dataDir });
await migrate(db);
const checkpointer = await startWalCheckpointer(db);
const { account } = await createAccount(db, { name: 'bench groups' }, null);

/** CPU microseconds per create, `group` creates started per turn. */
async function round(group: number): Promise<number> {
  const before = process.cpuUsage();
  for (let done = 0; done < creates; done += group) {
    await Promise.all(Array.from({ length: Math.min(group, creates - done) }, () => createWorkflow(db, account.id, { name: 'Bench fox', shots: SHOTS })));
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / creates;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// The pool holds one connection; a temp_store change applies from its next transaction.
const journal = (where: 'MEMORY' | 'DEFAULT') => db.raw(`PRAGMA temp_store = ${where}`);

await round(1); // warm up the JIT and the statement cache
console.log(`create_workflow in groups on SQLite: ${creates} creates per round, ${rounds} rounds, load average ${os.loadavg()[0]!.toFixed(2)}`);
console.log('group   journal in memory   journal may spill to a file   memory/file');
for (const group of groups) {
  const memory: number[] = [];
  const file: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await journal('DEFAULT');
    file.push(await round(group));
    await journal('MEMORY');
    memory.push(await round(group));
  }
  const [m, f] = [median(memory), median(file)];
  console.log(`${String(group).padStart(5)}   ${m.toFixed(1).padStart(11)} us/create   ${f.toFixed(1).padStart(15)} us/create   ${(m / f).toFixed(2)}x`);
}
await checkpointer?.stop();
await db.destroy();
fs.rmSync(dataDir, { recursive: true, force: true });
