/**
 * Spec-driven fuzzing of the live server (issue 13): every operation of spec/openapi.yaml gets
 * valid requests (examples, schemas, the ids of real objects) and mutations of them, against a real
 * listener over SQLite and PostgreSQL. Every answer must be below 500, have a status the spec
 * declares, and a body the generated response validator accepts. Seeded and bounded:
 *   LAVENDLY_FUZZ_SEED=7 LAVENDLY_FUZZ_REQUESTS=5000 npm test -- test/fuzz
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { schemas } from '../../generated/validators.gen.js';
import { assertInvariants } from '../../src/ledger/index.js';
import { testDatabases } from '../helpers/db.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { closeConnections } from './check.js';
import { Harvest } from './harvest.js';
import { Random } from './random.js';
import { operationsOf, RequestMaker, type RequestContext } from './requests.js';
import { emptyTally, fuzzRequests, type FuzzTally } from './run.js';
import { SpecSchemas, ValueMaker, type IdPools } from './values.js';
import { buildWorld } from './world.js';

const SEED = Number(process.env.LAVENDLY_FUZZ_SEED ?? 1);
const BUDGET = Number(process.env.LAVENDLY_FUZZ_REQUESTS ?? 4000);
/** The concurrent pass: requests in flight at once, and how many in all. */
const IN_FLIGHT = Number(process.env.LAVENDLY_FUZZ_IN_FLIGHT ?? 8);
const CONCURRENT_BUDGET = Number(process.env.LAVENDLY_FUZZ_CONCURRENT_REQUESTS ?? 2000);
const spec = new SpecSchemas(parse(readFileSync(new URL('../../spec/openapi.yaml', import.meta.url), 'utf8')));
const edge: Record<string, unknown> = spec.doc['x-edge-responses'].responses;
const ops = operationsOf(spec);

/** Requests no operation serves, and what HTTP that is not HTTP gets: all answered by the edge. */
const OFF_API = ['/v1/nope', '/v1/workflows/wf_x/nope', '/v1//workflows', '/v2/workflows', '/v1/%FF', '/v1/_status/x'];
const MALFORMED = (key: string) => [
  `POST /v1/workflows HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"a"}`,
  'GARBAGE\r\n\r\n',
  'GET /v1/_status HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
  'POST /v1/workflows HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  `GET /v1/_status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
  'GET /v1/_status HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
];

function count(tally: FuzzTally, status: number): void {
  tally.sent++;
  tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
}

async function rawExchange(port: number, data: string): Promise<{ status: number; body: unknown }> {
  const socket = net.connect(port, '127.0.0.1');
  let out = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => { out += d; });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.end(data);
  await new Promise((resolve) => { socket.once('close', resolve); setTimeout(resolve, 5_000); });
  socket.destroy();
  const [head = '', body = ''] = out.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1] ?? 0), body: body ? JSON.parse(body) : undefined };
}

describe.each(testDatabases())('spec-driven fuzz on %s', (kind) => {
  let s: TestServer;
  let ctx: RequestContext;
  let ids: IdPools;
  beforeAll(async () => {
    s = await startTestServer(kind, { config: { responseValidation: 'log', authFailuresPerMinute: 1_000_000 } });
    const world = await buildWorld(s);
    ctx = { key: world.key, otherKey: world.otherKey, cursors: new Map(), uploads: world.uploads, media: world.media, keep: world.keep, nodes: world.nodes };
    ids = world.ids;
  }, 120_000);
  afterAll(async () => {
    closeConnections();
    await s?.close();
  });

  it(`keeps to the spec for ${BUDGET} requests (seed ${SEED})`, async () => {
    const started = Date.now();
    const tally = emptyTally();
    await fuzzRequests(s, edge, parts(SEED), BUDGET, 1, tally);
    for (const path of OFF_API) {
      for (const method of ['GET', 'POST']) {
        const r = await call(`${s.origin}${path}`, { method, key: ctx.key, body: method === 'POST' ? {} : undefined });
        count(tally, r.status);
        if (!(String(r.status) in edge) || !schemas.ErrorEnvelope.safeParse(r.json).success) tally.problems.push(`${method} ${path} -> ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
    for (const data of MALFORMED(ctx.key)) {
      const r = await rawExchange(s.running.port, data);
      count(tally, r.status);
      if (!(String(r.status) in edge) || !schemas.ErrorEnvelope.safeParse(r.body).success) tally.problems.push(`malformed ${JSON.stringify(data.slice(0, 60))} -> ${r.status}`);
    }
    const answered = report(`seed ${SEED}`, tally, started);
    expect(tally.problems.slice(0, 40)).toEqual([]);
    expect(tally.sent).toBeGreaterThan(BUDGET * 0.9);
    // Valid requests must reach the handlers' work, not stop at a 404 or 409 for want of a real
    // object: 43-44 of 49 operations answer 2xx at 4,000 requests (45-46 at 12,000). Those that
    // cannot here: imports and webhooks (only public URLs pass, and the fuzz never leaves the
    // host) and OAuth channel connections (501 without a client); a publication or an edit often
    // misses too, as random fields rarely make a valid schedule or version.
    if (BUDGET >= 4000) expect(answered).toBeGreaterThanOrEqual(40);
    await assertInvariants(s.fresh.db); // credits the fuzz reserved, charged and released still add up
  }, 240_000);

  // Clients do not wait for each other: the same requests, IN_FLIGHT at a time on the same world,
  // so two edits, deletes or ledger moves on one object meet inside the server.
  it(`keeps to the spec with ${IN_FLIGHT} requests in flight (${CONCURRENT_BUDGET} requests)`, async () => {
    const started = Date.now();
    const tally = emptyTally();
    await fuzzRequests(s, edge, parts(SEED + 1), CONCURRENT_BUDGET, IN_FLIGHT, tally);
    report(`seed ${SEED + 1}, ${IN_FLIGHT} in flight`, tally, started);
    expect(tally.problems.slice(0, 40)).toEqual([]);
    expect(tally.sent).toBeGreaterThan(CONCURRENT_BUDGET * 0.9);
    await assertInvariants(s.fresh.db);
  }, 240_000);

  /** A request maker of its own seed over the shared world, and the harvest that feeds it. */
  function parts(seed: number) {
    const rnd = new Random(seed);
    return { maker: new RequestMaker(spec, rnd, new ValueMaker(spec, rnd, ids), ctx), harvest: new Harvest(ids, ctx), ctx, ops };
  }

  /** Logs the pass (with the server's own response checks added to its problems); answers how many operations answered 2xx. */
  function report(label: string, tally: FuzzTally, started: number): number {
    // The server checks its own answers too (responseValidation: log).
    const offSpec = s.logs.filter((l) => l.msg === 'response does not match the spec');
    for (const l of offSpec.slice(0, 10)) tally.problems.push(`server-side: ${JSON.stringify(l).slice(0, 300)}`);
    const statuses = [...tally.statuses.entries()].sort(([a], [b]) => a - b).map(([st, n]) => `${st}x${n}`).join(' ');
    const neverOk = ops.map((o) => o.id).filter((id) => !tally.succeeded.has(id));
    console.info(`[fuzz ${kind}] ${label}: ${tally.sent} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; statuses ${statuses}; `
      + `${ops.length - neverOk.length}/${ops.length} operations answered 2xx (not: ${neverOk.join(', ') || 'none'}); ${tally.problems.length} problems`);
    return ops.length - neverOk.length;
  }
});
