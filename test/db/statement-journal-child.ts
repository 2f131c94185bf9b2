/**
 * Run by statement-journal.test.ts with SQLITE_TMPDIR set (SQLite reads it once, when it starts),
 * on a fresh SQLite file in the data dir given as the first argument: 100 creates one at a time,
 * then 16 started in one turn, which share one COMMIT, each in its own savepoint. Prints how many
 * workflows it finds afterwards.
 */
import { createAccount } from '../../src/accounts/accounts.js';
import { createDb, migrate } from '../../src/db/knex.js';
import { createWorkflow } from '../../src/workflows/store.js';

const db = createDb({ databaseUrl: null, dataDir: process.argv[2]! });
await migrate(db);
const { account } = await createAccount(db, { name: 'journal' }, null);
const shots = Array.from({ length: 3 }, (_, i) => ({ prompt: `shot ${i}`, duration_s: 5 }));
// Enough rows first that each create changes pages that existed when its group began (the journal
// keeps copies of those only, not of pages a transaction appends).
for (let i = 0; i < 100; i++) await createWorkflow(db, account.id, { name: `before ${i}`, shots });
await Promise.all(Array.from({ length: 16 }, (_, i) => createWorkflow(db, account.id, { name: `w${i}`, shots })));
const row = await db('workflows').count({ n: '*' }).first();
console.log(JSON.stringify({ workflows: Number(row!.n) }));
await db.destroy();
