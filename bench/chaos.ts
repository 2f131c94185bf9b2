/**
 * Chaos probe (prints findings; not a test). The scaled-out layout of compose.yaml on one machine:
 * several `serve` and `worker` processes on one PostgreSQL, media in s3rver, webhooks to a local
 * receiver. Many clients run the agent flow over the serve processes while serve and worker
 * processes are killed (SIGKILL) or stopped (SIGTERM) and restarted, PostgreSQL is stopped for a
 * few seconds, and s3rver is frozen (SIGSTOP) or killed and restarted. Then everything comes back,
 * the system settles, and the invariants are checked (bench/chaos-checks.ts).
 *
 *   npm run build    # optional: restarts take ~2 s instead of ~20 s under tsx
 *   CHAOS_DIST=dist npx tsx bench/chaos.ts [--seconds 180] [--clients 8] [--serves 3] [--workers 3] [--accounts 4] [--port 8650]
 *
 * It runs in a network namespace of its own (re-executing itself under `unshare -n`, as root): the
 * webhook receiver listens on a public-looking address there, which the server's SSRF policy lets
 * deliveries reach, and no port is shared with anything else on the machine.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { createAccount } from '../src/accounts/accounts.js';
import { createDb, migrate } from '../src/db/knex.js';
import { grant } from '../src/ledger/index.js';
import { bucketKeys, checkAll, unsettled } from './chaos-checks.js';
import { BUCKET, Cluster, sleep, type Node } from './chaos-cluster.js';
import { Client, Recorder, type Account, type FlowRecord } from './chaos-client.js';
import { Receiver } from './chaos-receiver.js';

const RECEIVER_HOST = '93.184.215.14';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

if (!process.env.CHAOS_IN_NETNS) {
  const script = `ip link set lo up && ip addr add ${RECEIVER_HOST}/32 dev lo && exec "$0" "$@"`;
  const r = spawnSync('unshare', ['-n', 'sh', '-c', script, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, CHAOS_IN_NETNS: '1' },
  });
  process.exit(r.status ?? 1);
}

const SECONDS = arg('seconds', 180);
const CLIENTS = arg('clients', 8);
const ACCOUNTS = arg('accounts', 4);
const BASE = arg('port', 8650);
const SERVES = arg('serves', 3);
const ports = { pg: BASE, s3: BASE + 1, serve: Array.from({ length: SERVES }, (_, i) => BASE + 2 + i) };
const receiverPort = BASE + 10;

const cluster = new Cluster(ports, arg('workers', 3), {
  LAVENDLY_CLIP_SHORT_SIDE: '180',
  LAVENDLY_WORKER_POLL_MS: '100',
  LAVENDLY_WORKER_LEASE_MS: '5000',
  LAVENDLY_SHUTDOWN_GRACE_MS: '3000',
  LAVENDLY_SHUTDOWN_DELAY_MS: '300',
  LAVENDLY_STORAGE_TIMEOUT_S: '4',
  LAVENDLY_IDEMPOTENCY_LEASE_S: '6',
  LAVENDLY_RATE_LIMIT_PER_MINUTE: '0',
  LAVENDLY_WEBHOOK_RETRY_SCHEDULE: '1s,2s,4s,8s,15s,30s,30s',
  LAVENDLY_WEBHOOK_TIMEOUT_MS: '3000',
}, process.env.CHAOS_DIST ? path.resolve(process.env.CHAOS_DIST, 'src/cli/main.js') : undefined);
const receiver = new Receiver();
const rec = new Recorder();
const CLIENT_TIMEOUT_MS = 30_000;

function isDown(port: number, at: number): boolean {
  const node = cluster.nodes.find((n) => n.port === port);
  return !node || !node.up || node.downs.some(([t]) => t >= at - 1000);
}

async function setup(): Promise<Account[]> {
  await cluster.startDependencies();
  const db = createDb({ databaseUrl: cluster.pg.url, dataDir: cluster.root });
  await migrate(db);
  const granter = async (d: typeof db, id: string, credits: number, reason: string) => { await grant(d, id, credits, reason); };
  const admin = (await createAccount(db, { name: 'operator', scopes: ['admin'] }, null)).apiKey.key;
  const users = [];
  for (let i = 0; i < ACCOUNTS; i++) users.push(await createAccount(db, { name: `chaos ${i}`, credits: 100_000 }, granter));
  await db.destroy();
  cluster.addNodes();
  await Promise.all(cluster.nodes.map((n) => cluster.start(n)));
  await receiver.listen(RECEIVER_HOST, receiverPort);
  const client = new Client(ports.serve, rec, CLIENT_TIMEOUT_MS, isDown);
  const accounts: Account[] = [];
  for (const u of users) {
    const ch = await client.request('connect_channel', 'POST', '/channels', { key: admin, body: { account_id: u.account.id, platform: 'local', name: 'Folder', credentials: {} } });
    const hook = await client.request('create_webhook_endpoint', 'POST', '/webhooks/endpoints', { key: u.apiKey.key, body: { url: `http://${RECEIVER_HOST}:${receiverPort}/hook/${u.account.id}`, events: ['*'] } });
    if (ch.status !== 201 || hook.status !== 201) throw new Error(`setup: channel ${ch.status} ${JSON.stringify(ch.json)}, hook ${hook.status} ${JSON.stringify(hook.json)}`);
    receiver.secrets.set(u.account.id, hook.json.secret);
    accounts.push({ id: u.account.id, key: u.apiKey.key, channelId: ch.json.id });
  }
  return accounts;
}

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** One fault at a time, each undone before the next; the counts are printed at the end. */
async function chaos(until: number, counts: Map<string, number>): Promise<void> {
  const count = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  while (Date.now() < until) {
    await sleep(1000 + Math.random() * 2000);
    const roll = Math.random();
    const serves = cluster.nodes.filter((n) => n.kind === 'serve');
    const workers = cluster.nodes.filter((n) => n.kind === 'worker');
    const bounce = async (n: Node, sig: 'SIGKILL' | 'SIGTERM') => {
      count(`${sig} ${n.kind}`);
      await cluster.kill(n, sig);
      await sleep(500 + Math.random() * 2500);
      await cluster.start(n);
    };
    if (roll < 0.2) await bounce(pick(serves), 'SIGKILL');
    else if (roll < 0.3) await bounce(pick(serves), 'SIGTERM');
    else if (roll < 0.5) await bounce(pick(workers), 'SIGKILL');
    else if (roll < 0.6) await bounce(pick(workers), 'SIGTERM');
    else if (roll < 0.72) {
      count('PostgreSQL paused');
      cluster.pausePg();
      await sleep(1500 + Math.random() * 3500);
      cluster.resumePg();
    } else if (roll < 0.87) {
      count('s3rver SIGSTOP');
      cluster.pauseS3();
      await sleep(2000 + Math.random() * 6000);
      cluster.resumeS3();
    } else {
      count('s3rver restarted');
      await cluster.restartS3();
    }
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const accounts = await setup();
  console.log(`chaos: ${SECONDS} s, ${CLIENTS} clients, ${SERVES} serve + ${cluster.workers} worker processes, ${ACCOUNTS} accounts, load ${loadavg().map((l) => l.toFixed(1)).join(' ')} (setup ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  const until = Date.now() + SECONDS * 1000;
  const flows: FlowRecord[] = [];
  let n = 0;
  const clients = Array.from({ length: CLIENTS }, async (_, i) => {
    const client = new Client(ports.serve, rec, CLIENT_TIMEOUT_MS, isDown);
    while (Date.now() < until) flows.push(await client.flow(accounts[i % accounts.length]!, n++));
  });
  const faults = new Map<string, number>();
  await chaos(until, faults);
  if (cluster.s3Paused) cluster.resumeS3();
  if (cluster.pgPaused) cluster.resumePg();
  for (const node of cluster.nodes) if (!node.proc) await cluster.start(node);
  console.log(`faults: ${JSON.stringify(Object.fromEntries(faults))}; waiting for the clients' last flows`);
  await Promise.all(clients);

  const db = createDb({ databaseUrl: cluster.pg.url, dataDir: cluster.root });
  const settleStart = Date.now();
  let left: string[] = [];
  for (; Date.now() - settleStart < 240_000; await sleep(2000)) {
    left = await unsettled(db);
    if (!left.length) break;
  }
  console.log(`settled in ${((Date.now() - settleStart) / 1000).toFixed(0)} s${left.length ? ` (NOT: ${left.join(' ')})` : ''}`);
  await sleep(3000);

  const outcomes = new Map<string, number>();
  for (const f of flows) outcomes.set(f.outcome.replace(/(wf|gen|rnd|pub)_\w+/g, '*'), (outcomes.get(f.outcome) ?? 0) + 1);
  const statuses = new Map<string, number>();
  for (const a of rec.answers) statuses.set(`${a.status}${a.code ? ` ${a.code}` : ''}`, (statuses.get(`${a.status}${a.code ? ` ${a.code}` : ''}`) ?? 0) + 1);
  const failureKinds = new Map<string, number>();
  for (const f of rec.failures) failureKinds.set(f.kind, (failureKinds.get(f.kind) ?? 0) + 1);
  console.log(`flows: ${flows.length} ${JSON.stringify(Object.fromEntries(outcomes))}`);
  console.log(`answers: ${rec.answers.length} ${JSON.stringify(Object.fromEntries(statuses))}`);
  console.log(`no answer: ${rec.failures.length} ${JSON.stringify(Object.fromEntries(failureKinds))}`);
  const slow = rec.answers.filter((a) => a.ms > 10_000);
  console.log(`answers slower than 10 s: ${slow.length} ${slow.slice(0, 5).map((a) => `${a.op} ${a.status} ${a.ms} ms`).join('; ')}`);

  const findings = await checkAll(db, bucketKeys(cluster.s3Dir, BUCKET), flows, receiver.received);
  const clientProblems = rec.problems();
  const hung = rec.failures.filter((f) => !f.kind.includes('server went down'));
  findings.checked.push(`client answers only documented statuses (no 5xx but 503 with Retry-After): ${clientProblems.length ? `${clientProblems.length} problem(s)` : 'ok'}`);
  findings.checked.push(`no request hung past ${CLIENT_TIMEOUT_MS} ms or was cut by a live server: ${hung.length ? `${hung.length} problem(s)` : 'ok'}`);
  findings.problems.push(...clientProblems.map((p) => `client: ${p}`), ...hung.map((h) => `no answer: ${h.op} on ${h.serve} after ${h.ms} ms: ${h.kind} ${h.detail}`));
  const errors = cluster.errorLines();
  console.log('\ninvariants:');
  for (const c of findings.checked) console.log(`  ${c}`);
  console.log('\nnotes:');
  for (const x of findings.notes) console.log(`  ${x}`);
  console.log(`\nproblems (${findings.problems.length}):`);
  for (const p of findings.problems.slice(0, 60)) console.log(`  ${p}`);
  console.log(`\nerror-level log lines: ${errors.length}`);
  for (const e of errors.slice(0, 20)) console.log(`  ${e}`);
  if (process.env.CHAOS_VERBOSE) for (const e of cluster.events) console.log(e);
  await db.destroy();
  await receiver.close();
  await cluster.stopAll();
  process.exit(findings.problems.length ? 1 : 0);
}

main().catch(async (err) => {
  console.error(err);
  await cluster.stopAll().catch(() => {});
  process.exit(2);
});
