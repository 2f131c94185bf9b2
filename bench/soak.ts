/**
 * Soak: `lavendly serve` (no built-in worker) and a separate `lavendly worker` under a sustained
 * mix of realistic requests (bench/soak-load.ts), then idle. Every `--every` seconds it forces a
 * GC in both processes (through their inspectors) and prints one row: heap, RSS, descriptors,
 * active handles, the largest Maps and Sets on the heap, CLOSE_WAIT sockets, children and zombies,
 * files under the data directory (staging = abandoned uploads and scratch), the SQLite file and
 * its WAL, PostgreSQL connections. What grows with the load and does not come back once it stops
 * is the finding. Not a test: it prints figures.
 *
 *   npx tsx bench/soak.ts [--db sqlite|pg] [--minutes 10] [--idle-minutes 2] [--every 30]
 *                         [--concurrency 8] [--port 8600]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { children, dirUsage, fileMb, Inspector, openFds, rssMb, socketStates } from './soak-probe.js';
import { closeAgent, counts, oneAction, type SoakTarget } from './soak-load.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    minutes: { type: 'string', default: '10' },
    'idle-minutes': { type: 'string', default: '2' },
    every: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '8' },
    port: { type: 'string', default: '8600' },
  },
});
const port = Number(values.port);
const root = path.resolve(new URL('..', import.meta.url).pathname);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lavendly-soak-'));

let pg: { url: string; stop(): void } | null = null;
if (values.db === 'pg') {
  const { startPostgres } = await import('../scripts/pg.mjs' as string) as { startPostgres(port: number): { url: string; stop(): void } | null };
  pg = startPostgres(port + 40);
  if (!pg) throw new Error('no PostgreSQL binaries');
}

const env: NodeJS.ProcessEnv = {
  ...process.env,
  PORT: String(port),
  HOST: '127.0.0.1',
  LAVENDLY_DATA_DIR: dataDir,
  LAVENDLY_PUBLIC_URL: `http://127.0.0.1:${port}`,
  LAVENDLY_SIGNING_SECRET: 'soak-signing-secret',
  LAVENDLY_TRUST_PROXY: '1',
  LAVENDLY_SERVE_WORKER: '0',
  LAVENDLY_CLIP_SHORT_SIDE: '90',
  LAVENDLY_RATE_LIMIT_PER_MINUTE: '100000',
  LAVENDLY_IDEMPOTENCY_WINDOW_S: '60',
  LOG_LEVEL: 'error',
  ...(pg ? { DATABASE_URL: pg.url } : {}),
};

const procs: ChildProcess[] = [];
function start(role: 'serve' | 'worker', inspectPort: number, extra: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, 'bin/lavendly.mjs', role], {
    cwd: root, env: { ...env, ...extra }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => {
    const text = String(d);
    if (!/Debugger|inspector|For help|development account|API key|export LAVENDLY/.test(text)) process.stderr.write(`[${role}] ${text}`);
  });
  procs.push(child);
  return child;
}
function stopAll(): void {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  pg?.stop();
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

const serve = start('serve', port + 1);
for (let i = 0; ; i++) {
  if (i > 600) throw new Error('serve did not become ready');
  try { if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break; } catch { /* not yet */ }
  await new Promise((r) => setTimeout(r, 100));
}
const worker = start('worker', port + 2);

// Accounts, keys and console users, written by this process on the same database.
const { loadConfig } = await import('../src/config.js');
const { createDb } = await import('../src/db/knex.js');
const { compose } = await import('../src/app/compose.js');
const { createLogger } = await import('../src/http/logging.js');
const { createUser } = await import('../src/console-auth/users.js');
const config = loadConfig(env);
const db = createDb(config);
const { services } = await compose({ config, db, logger: createLogger({ level: 'silent' }) });
const keys: string[] = [];
const users: SoakTarget['users'] = [];
for (let i = 0; i < 20; i++) {
  const { account, apiKey } = await services.accounts.createAccount({ name: `soak ${i}`, credits: 1_000_000 });
  keys.push(apiKey.key);
  if (i < 4) {
    users.push({ email: `soak${i}@example.org`, password: 'a long enough secret' });
    await createUser(db, { accountId: account.id, email: users[i]!.email, password: users[i]!.password });
  }
}
const admin = await services.accounts.createAccount({ name: 'soak admin', credits: 0, scopes: ['admin'] });
await db.destroy();
// A large picture (noise does not compress), uploaded for a few keys: downloads of it are cut short.
const { ffmpegPath } = await import('../src/media/binaries.js');
const png = path.join(dataDir, 'noise.png');
await new Promise<void>((resolve, reject) => {
  spawn(ffmpegPath(), ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=1200x1200,noise=alls=100:allf=t', '-frames:v', '1', '-y', png])
    .on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
});
const fileUrls: string[] = [];
for (const key of keys.slice(0, 3)) {
  const slot = await (await fetch(`http://127.0.0.1:${port}/v1/uploads`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'image', filename: 'noise.png' }),
  })).json() as { upload_url: string };
  const asset = await (await fetch(slot.upload_url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: fs.readFileSync(png) })).json() as { url: string };
  if (!asset.url) throw new Error(`upload failed: ${JSON.stringify(asset)}`);
  fileUrls.push(asset.url);
}
fs.rmSync(png);
const target: SoakTarget = { port, keys, adminKey: admin.apiKey.key, users, fileUrls };

const inspectors = { serve: await Inspector.connect(port + 1), worker: await Inspector.connect(port + 2) };
const sqliteFile = path.join(dataDir, 'lavendly.sqlite');

async function pgConnections(): Promise<number | string> {
  if (!pg) return '-';
  const knex = (await import('knex')).default;
  const k = knex({ client: 'pg', connection: pg.url, pool: { min: 0, max: 1 } });
  try {
    const r = await k.raw("select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()");
    return r.rows[0].n as number;
  } finally {
    await k.destroy();
  }
}

const rows: string[] = [];
let sent = 0;
const t0 = Date.now();
async function sample(phase: string): Promise<void> {
  const s = await inspectors.serve.sample();
  const w = await inspectors.worker.sample();
  const sock = socketStates(port);
  const kids = children(serve.pid!);
  const wkids = children(worker.pid!);
  const staging = dirUsage(path.join(dataDir, 'files', '.staging'));
  const files = dirUsage(path.join(dataDir, 'files'));
  const row = [
    phase.padEnd(5), String(Math.round((Date.now() - t0) / 1000)).padStart(5), String(sent).padStart(7),
    s.heapUsedMb.toFixed(1).padStart(6), rssMb(serve.pid!).toFixed(0).padStart(5), String(openFds(serve.pid!)).padStart(4),
    String(s.handles).padStart(4), `${s.topMaps.slice(0, 3).join('/')}`.padStart(16), `${s.topSets.slice(0, 3).join('/')}`.padStart(14),
    String(sock.CLOSE_WAIT ?? 0).padStart(3), String(sock.ESTAB ?? 0).padStart(4), `${kids.live}/${kids.zombies}`.padStart(5),
    `${staging.files}/${staging.mb.toFixed(1)}`.padStart(9), `${fileMb(sqliteFile).toFixed(1)}/${fileMb(`${sqliteFile}-wal`).toFixed(1)}`.padStart(10),
    String(await pgConnections()).padStart(3),
    '|', w.heapUsedMb.toFixed(1).padStart(6), rssMb(worker.pid!).toFixed(0).padStart(5), String(openFds(worker.pid!)).padStart(4),
    String(w.handles).padStart(4), `${w.topMaps.slice(0, 3).join('/')}`.padStart(14), `${wkids.live}/${wkids.zombies}`.padStart(5),
    `${files.files}/${files.mb.toFixed(0)}`.padStart(9),
  ].join(' ');
  rows.push(row);
  console.log(row);
}

console.log(`soak: ${values.db}, ${values.minutes} min load at concurrency ${values.concurrency}, then ${values['idle-minutes']} min idle; data ${dataDir}`);
console.log('phase     s    sent heapMB rssMB  fds hndl   top Maps(serve)    top Sets   CW estb kids   staging  db/walMB  pg | w.heap w.rss w.fd w.hd    top Maps(w) kids  allfiles');
await sample('base');
const loadEnd = Date.now() + Number(values.minutes) * 60_000;
const every = Number(values.every) * 1000;
let nextSample = Date.now() + every;
const lanes = Array.from({ length: Number(values.concurrency) }, async () => {
  while (Date.now() < loadEnd) { await oneAction(target); sent += 1; }
});
while (Date.now() < loadEnd) {
  await new Promise((r) => setTimeout(r, Math.max(0, Math.min(nextSample, loadEnd) - Date.now())));
  if (Date.now() >= nextSample) { await sample('load'); nextSample += every; }
}
await Promise.all(lanes);
closeAgent();
const idleEnd = Date.now() + Number(values['idle-minutes']) * 60_000;
while (Date.now() < idleEnd) {
  await new Promise((r) => setTimeout(r, Math.min(every, idleEnd - Date.now())));
  await sample('idle');
}
console.log('\nrequests by outcome:', JSON.stringify(Object.fromEntries(Object.entries(counts).sort())));
inspectors.serve.close();
inspectors.worker.close();
stopAll();
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
