/**
 * The chaos bench's invariants (bench/chaos.ts), checked from the database, the bucket's directory
 * and what the clients and the webhook receiver saw, once everything is back and settled.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { checkInvariants } from '../src/ledger/index.js';
import type { FlowRecord } from './chaos-client.js';
import type { Received } from './chaos-receiver.js';

export interface Findings { checked: string[]; problems: string[]; notes: string[] }

/** s3rver keeps `<bucket>/<key>._S3rver_object` (plus metadata files beside it). */
export function bucketKeys(s3Dir: string, bucket: string): Set<string> {
  const root = path.join(s3Dir, bucket);
  const keys = new Set<string>();
  if (!fs.existsSync(root)) return keys;
  for (const d of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (d.isFile() && d.name.endsWith('._S3rver_object')) keys.add(path.relative(root, path.join(d.parentPath, d.name)).replace(/\._S3rver_object$/, ''));
  }
  return keys;
}

const FINAL = {
  jobs: ['succeeded', 'failed', 'canceled'],
  generations: ['succeeded', 'failed'],
  generation_scenes: ['generated', 'failed'],
  renders: ['succeeded', 'failed', 'canceled'],
  publications: ['published', 'failed', 'canceled'],
  webhook_deliveries: ['succeeded', 'failed'],
} as const;

/** Rows not yet final, per table (the settle loop waits for this to be empty). */
export async function unsettled(db: Knex): Promise<string[]> {
  const out: string[] = [];
  for (const [table, final] of Object.entries(FINAL)) {
    const rows = await db(table).whereNotIn('status', final as unknown as string[]).select('status').count('* as n').groupBy('status');
    for (const r of rows) out.push(`${table}.${r.status}=${r.n}`);
  }
  const ws = await db('workflow_scenes').where({ status: 'generating' }).count('* as n').first();
  if (Number(ws?.n)) out.push(`workflow_scenes.generating=${ws!.n}`);
  return out;
}

export async function checkAll(db: Knex, s3Keys: Set<string>, flows: FlowRecord[], received: Received[]): Promise<Findings> {
  const f: Findings = { checked: [], problems: [], notes: [] };
  const check = (name: string, problems: string[]) => { f.checked.push(`${name}: ${problems.length ? `${problems.length} problem(s)` : 'ok'}`); f.problems.push(...problems.map((p) => `${name}: ${p}`)); };

  check('ledger invariants (src/ledger/invariants.ts)', await checkInvariants(db));

  check('every job, generation, scene, render, publication and delivery final', await unsettled(db));

  // Credits: each scene charged at most its price, once, by a commit of its own reservation.
  const charged = await db('generation_scenes as s').join('reservations as r', 'r.id', 's.reservation_id')
    .select('s.generation_id', 's.node_id', 's.status', 's.credits', 's.credits_charged', 'r.status as rstatus', 'r.committed');
  const creditProblems: string[] = [];
  for (const s of charged) {
    if (Number(s.credits_charged) !== Number(s.committed)) creditProblems.push(`${s.generation_id}/${s.node_id}: charged ${s.credits_charged} but reservation committed ${s.committed}`);
    if (s.status !== 'generated' && Number(s.credits_charged) > 0) creditProblems.push(`${s.generation_id}/${s.node_id}: ${s.status} yet charged`);
    if (s.rstatus === 'open') creditProblems.push(`${s.generation_id}/${s.node_id}: reservation still open`);
  }
  const commits = await db('ledger_entries').where({ kind: 'commit' }).sum('amount as a').first();
  const sceneSum = charged.reduce((n, s) => n + Number(s.credits_charged), 0);
  if (Number(commits?.a ?? 0) !== sceneSum) creditProblems.push(`ledger commits ${commits?.a} != scenes charged ${sceneSum}`);
  check('every credit charged belongs to one generated scene', creditProblems);

  // Idempotent retries: one object per key, whatever the crashes did to the answers.
  const dupes: string[] = [];
  const byAccount = new Map<string, number>();
  for (const fl of flows) if (fl.workflowId) byAccount.set(fl.account, (byAccount.get(fl.account) ?? 0) + 1);
  const attempted = new Map<string, number>();
  for (const fl of flows) attempted.set(fl.account, (attempted.get(fl.account) ?? 0) + 1);
  for (const r of await db('workflows').select('account_id').count('* as n').groupBy('account_id')) {
    const got = byAccount.get(String(r.account_id)) ?? 0;
    const tried = attempted.get(String(r.account_id)) ?? 0;
    if (Number(r.n) > tried) dupes.push(`${r.account_id}: ${r.n} workflows in the database from ${tried} create flows (${got} answered 201)`);
  }
  for (const fl of flows.filter((x) => x.workflowId)) {
    const gens = await db('generations').where({ workflow_id: fl.workflowId }).pluck('id');
    const extra = gens.filter((g: string) => !fl.generations.includes(g));
    // A generation the client never saw answered can come from a retried 503 whose first attempt committed.
    if (extra.length) dupes.push(`${fl.workflowId}: generations ${extra.join(',')} not answered to the client (client saw ${fl.generations.join(',') || 'none'})`);
    const renders = await db('renders').where({ workflow_id: fl.workflowId }).pluck('id');
    const extraR = renders.filter((g: string) => !fl.renders.includes(g));
    if (extraR.length) dupes.push(`${fl.workflowId}: renders ${extraR.join(',')} not answered to the client`);
    const pubs = await db('publications').where({ workflow_id: fl.workflowId }).pluck('id');
    const extraP = pubs.filter((g: string) => !fl.publications.includes(g));
    if (extraP.length) dupes.push(`${fl.workflowId}: publications ${extraP.join(',')} not answered to the client`);
  }
  check('idempotent retries made one object per key (workflows, generations, renders, publications)', dupes);

  // Media: every stored key the tables name is in the bucket; what else is there is reported.
  const referenced = new Map<string, string>();
  for (const r of await db('renders').whereNotNull('output_key').select('id', 'status', 'output_key')) referenced.set(r.output_key, `render ${r.id} (${r.status})`);
  for (const r of await db('generation_scenes').select('generation_id', 'status', 'image_key', 'clip_key')) {
    if (r.image_key) referenced.set(r.image_key, `scene image ${r.generation_id} (${r.status})`);
    if (r.clip_key) referenced.set(r.clip_key, `scene clip ${r.generation_id} (${r.status})`);
  }
  for (const r of await db('workflow_scenes').select('workflow_id', 'image_key', 'clip_key')) {
    if (r.image_key) referenced.set(r.image_key, `workflow scene image ${r.workflow_id}`);
    if (r.clip_key) referenced.set(r.clip_key, `workflow scene clip ${r.workflow_id}`);
  }
  for (const r of await db('assets').select('id', 'file_key')) referenced.set(r.file_key, `asset ${r.id}`);
  const missing: string[] = [];
  for (const r of await db('renders').where({ status: 'succeeded' }).select('id', 'output_key')) if (!s3Keys.has(r.output_key)) missing.push(`render ${r.id}: ${r.output_key} not in the bucket`);
  for (const r of await db('generation_scenes').where({ status: 'generated' }).select('generation_id', 'node_id', 'clip_key')) {
    if (!s3Keys.has(r.clip_key)) missing.push(`scene ${r.generation_id}/${r.node_id}: clip ${r.clip_key} not in the bucket`);
  }
  check('every succeeded render and generated clip is in the bucket', missing);
  const orphans = [...s3Keys].filter((k) => !referenced.has(k) && !k.includes('/frames/'));
  const orphanKinds = new Map<string, number>();
  for (const k of orphans) {
    const kind = k.split('/').slice(1).join('/').replace(/[A-Za-z0-9_-]{8,}/g, '*');
    orphanKinds.set(kind, (orphanKinds.get(kind) ?? 0) + 1);
  }
  f.notes.push(`bucket: ${s3Keys.size} objects, ${referenced.size} keys referenced, ${orphans.length} unreferenced (frames aside): ${JSON.stringify(Object.fromEntries(orphanKinds))}`);
  const failedRenderObjects = (await db('renders').whereNot({ status: 'succeeded' }).select('account_id', 'id'))
    .map((r) => `${r.account_id}/renders/${r.id}.mp4`).filter((k) => s3Keys.has(k));
  check('no object for a render that did not succeed', failedRenderObjects.map((k) => `${k} stored though its render did not succeed`));
  for (const k of orphans.slice(0, 10)) {
    // A scene's files are `<account>/<workflow>/<generation>-<node>.<ext>`: say what became of that scene.
    const m = /\/(gen_[^/]+?)-(nd_[^/.]+)\.\w+$/.exec(k);
    const scene = m ? await db('generation_scenes').where({ generation_id: m[1], node_id: m[2] }).first('status', 'step', 'image_key', 'clip_key', 'error') : null;
    f.notes.push(`unreferenced object: ${k}${scene ? ` (scene ${JSON.stringify(scene)})` : ''}`);
  }

  // Webhooks: every event delivered at least once with a valid signature; none about nothing.
  const hookProblems: string[] = [];
  const events = await db('webhook_events').select('id', 'type', 'payload');
  const byId = new Map(events.map((e) => [e.id, e]));
  const validIds = new Set(received.filter((r) => r.valid).map((r) => r.eventId));
  const withDeliveries = new Set(await db('webhook_deliveries').distinct('event_id').pluck('event_id'));
  for (const e of events) if (withDeliveries.has(e.id) && !validIds.has(e.id)) hookProblems.push(`event ${e.id} (${e.type}) never received with a valid signature`);
  for (const r of received) {
    if (!r.valid) hookProblems.push(`delivery of ${r.eventId} with an invalid signature`);
    if (!byId.has(r.eventId)) hookProblems.push(`received ${r.eventId} (${r.type}) that no webhook_events row holds`);
  }
  const states: Record<string, [string, string, string]> = {
    'render.succeeded': ['renders', 'render_id', 'succeeded'],
    'render.failed': ['renders', 'render_id', 'failed'],
    'publication.published': ['publications', 'publication_id', 'published'],
    'publication.failed': ['publications', 'publication_id', 'failed'],
    'generation.finished': ['generations', 'generation_id', ''],
  };
  for (const e of events) {
    const rule = states[e.type];
    if (!rule) continue;
    const data = JSON.parse(e.payload);
    const id = data[rule[1]] ?? data.id;
    const row = await db(rule[0]).where({ id }).first('status');
    if (!row) hookProblems.push(`${e.type} ${e.id} names ${id}, which does not exist`);
    else if (rule[2] && row.status !== rule[2]) hookProblems.push(`${e.type} ${e.id} but ${id} is ${row.status}`);
    else if (!rule[2] && !['succeeded', 'failed'].includes(row.status)) hookProblems.push(`${e.type} ${e.id} but ${id} is ${row.status}`);
  }
  const seen = new Map<string, number>();
  for (const r of received) seen.set(r.eventId, (seen.get(r.eventId) ?? 0) + 1);
  f.notes.push(`webhooks: ${events.length} events, ${received.length} deliveries received, ${[...seen.values()].filter((n) => n > 1).length} events received more than once`);
  // Every finished render and publication has its event.
  for (const [table, types] of [['renders', ['render.succeeded', 'render.failed']], ['publications', ['publication.published', 'publication.failed']]] as const) {
    const evIds = new Set(events.filter((e) => (types as readonly string[]).includes(e.type)).map((e) => { const d = JSON.parse(e.payload); return d.publication_id ?? d.render_id; }));
    for (const r of await db(table).whereIn('status', types.map((t) => t.split('.')[1]!)).pluck('id')) if (!evIds.has(r)) hookProblems.push(`${table} ${r} finished without its event`);
  }
  check('webhooks: each event delivered, signed, and about something that happened', hookProblems);
  return f;
}
