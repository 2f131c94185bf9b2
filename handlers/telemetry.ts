import { catalog } from '../generated/catalog.gen.js';
import type { TelemetryHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import { DomainError } from '../src/errors.js';
import { databaseHealth } from '../src/db/health.js';
import { dbKind } from '../src/db/knex.js';
import type { AppContext } from '../src/http/context.js';
import { queueDepth } from '../src/jobs/index.js';
import { currentMonth, monthlyUsage, topSpenders } from '../src/generation/index.js';
import { VERSION } from '../src/version.js';

// The full catalog is ~170 KB; agents read the index (a few KB) and ask for one operation in full.
const catalogIndex = {
  title: catalog.title,
  version: catalog.version,
  operations: catalog.operations.map((o) => ({ operation_id: o.operation_id, method: o.method, path: o.path, summary: o.summary ?? '' })),
};

function oneOperation(id: string) {
  const op = catalog.operations.find((o) => o.operation_id === id);
  if (!op) {
    throw new DomainError('not_found', `No operation '${id}'. Call get_schema without \`operation\` for the index of operation ids.`, { resource: 'operation', id });
  }
  return { title: catalog.title, version: catalog.version, operations: [op] };
}

const PLATFORMS: readonly string[] = ['youtube', 'tiktok', 'local'];

/** A fresh ping, bounded in time; a change of state is logged once by the tracker, not per call. */
function databaseOk(ctx: AppContext): Promise<boolean> {
  return databaseHealth(ctx.db).check();
}

export const telemetryHandlers = {
  async get_status(_input, ctx) {
    const ok = await databaseOk(ctx);
    const queue = ok ? await queueDepth(ctx.db).catch(() => ({ queued: 0, running: 0 })) : { queued: 0, running: 0 };
    const p = ctx.services.providers;
    const body: T.ServiceStatus = {
      version: VERSION,
      server_time: new Date().toISOString(),
      database: { kind: dbKind(ctx.db), ok },
      providers: {
        text_to_image: p.text_to_image ?? 'none',
        image_to_video: p.image_to_video ?? 'none',
        vision_review: p.vision_review ?? 'none',
        publishers: (p.publishers ?? []).filter((x) => PLATFORMS.includes(x)) as T.Platform[],
        models: (p.models ?? []) as T.WiredModel[],
      },
      queue: { queued: Number(queue.queued), running: Number(queue.running) },
    };
    return { status: 200, body, headers: { 'Cache-Control': 'no-store' } };
  },

  async get_schema(input) {
    // catalog.gen's interfaces lack the index signature of the spec's open `Catalog` schema, so
    // tsc will not relate them; the response validator checks the shape at run time instead.
    const wanted = input.query.operation;
    const body = wanted === undefined ? catalogIndex : oneOperation(wanted);
    return { status: 200, body: body as unknown as T.Catalog, headers: { 'Cache-Control': 'public, max-age=60' } };
  },

  // Usage (src/generation/usage.ts): credits from the ledger's charges, clips and renders from
  // the daily counters; months are UTC.
  async get_monthly_usage(input, ctx) {
    const body: T.MonthlyUsage = await monthlyUsage(ctx.db, ctx.account.id, input.query.month ?? currentMonth());
    return { status: 200, body, headers: { 'Cache-Control': 'no-store' } };
  },
  async get_top_spenders(input, ctx) {
    const month = input.query.month ?? currentMonth();
    const body: T.TopSpenders = { month, data: await topSpenders(ctx.db, month, input.query.top) };
    return { status: 200, body, headers: { 'Cache-Control': 'no-store' } };
  },
} satisfies TelemetryHandlers<AppContext>;
