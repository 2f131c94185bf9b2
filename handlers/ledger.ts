/**
 * Credits: the account's position and ledger, and reservations for service keys that run paid
 * work of their own (`ledger:write`, enforced by the runtime from the spec's x-scopes). The money
 * rules live in src/ledger; this module only scopes every reservation to the calling account.
 */
import type { LedgerHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import { apiKeyIdOf, type AppContext } from '../src/http/context.js';
import { keyedWrite } from '../src/http/keyed-write.js';
import { lockLiveKey } from '../src/accounts/accounts.js';
import { ConflictError, ValidationError } from '../src/http/errors.js';
import { accountTimeZone, formatInZone, isTimeZone } from '../src/accounts/time-zone.js';
import { sceneByReservation } from '../src/generation/index.js';
import {
  commit, getBalance, getReservation, listEntries, release, reserve,
  ReservationNotFoundError, type LedgerEntry, type Reservation,
} from '../src/ledger/index.js';
import { emitBalanceLowIfCrossed } from '../src/webhooks/index.js';

function entryView(e: LedgerEntry): T.LedgerEntry {
  return {
    id: e.id, kind: e.kind, amount: e.amount, reservation_id: e.reservation_id, reason: e.reason,
    balance_after: e.balance_after, reserved_after: e.reserved_after, created_at: e.created_at,
  };
}

function reservationView(r: Reservation): T.Reservation {
  return {
    id: r.id,
    status: r.status,
    amount: r.amount,
    committed: r.committed,
    released: r.status === 'open' ? 0 : r.amount - r.committed,
    reason: r.reason,
    metadata: r.metadata,
    expires_at: r.expires_at,
    created_at: r.created_at,
    resolved_at: r.resolved_at,
  };
}

/**
 * A reservation the caller may resolve: one of its own account (another account's id is a plain
 * 404) that no generation holds (those resolve themselves when their scene lands or fails).
 */
async function ownReservation(ctx: AppContext, id: string): Promise<Reservation> {
  const r = await getReservation(ctx.db, id);
  if (!r || r.account_id !== ctx.account.id) throw new ReservationNotFoundError(id);
  const scene = await sceneByReservation(ctx.db, id);
  if (scene) {
    throw new ConflictError(
      `Reservation '${id}' holds the credits of generation ${scene.generation_id} (scene ${scene.node_id}); it is charged or released by that generation, not through the API.`,
      { reservation_id: id, status: r.status, generation_id: scene.generation_id },
    );
  }
  return r;
}

export const ledgerHandlers = {
  async get_ledger(input, ctx) {
    const accountId = ctx.account.id;
    const [timeZone, position, page] = await Promise.all([
      accountTimeZone(ctx.db, accountId),
      getBalance(ctx.db, accountId),
      listEntries(ctx.db, accountId, { limit: input.query.limit, cursor: input.query.cursor ?? null, secret: ctx.services.cursorSecret }),
    ]);
    return {
      status: 200,
      body: {
        ...position, time_zone: timeZone, local_time: formatInZone(new Date(), timeZone),
        data: page.data.map(entryView), next_cursor: page.next_cursor, has_more: page.has_more,
      },
      headers: { 'Cache-Control': 'no-store' },
    };
  },

  async update_account(input, ctx) {
    const zone = input.body.time_zone;
    if (!isTimeZone(zone)) {
      const message = `'${zone}' is not an IANA time zone (for example Europe/Paris, America/New_York or UTC).`;
      throw new ValidationError({ body: [{ path: ['time_zone'], code: 'invalid_time_zone', message }] }, message);
    }
    await ctx.db('accounts').where({ id: ctx.account.id }).update({ time_zone: zone });
    const row = await ctx.db('accounts').where({ id: ctx.account.id }).first('id', 'name', 'time_zone');
    return { status: 200, body: { id: String(row.id), name: String(row.name), time_zone: String(row.time_zone) } };
  },

  async reserve_credits(input, ctx) {
    const accountId = ctx.account.id;
    const { amount, reason, expires_in_s, metadata } = input.body;
    const reservation = await keyedWrite(ctx, (db) => db.transaction(async (trx) => {
      await lockLiveKey(trx, apiKeyIdOf(ctx.account));
      const before = await getBalance(trx, accountId);
      const r = await reserve(trx, accountId, amount, { reason, expiresInS: expires_in_s ?? 3600, metadata });
      await emitBalanceLowIfCrossed(trx, { accountId, availableBefore: before.available, availableAfter: before.available - amount });
      return r;
    }), { idOf: (made) => made.id, find: (id) => ownReservation(ctx, id) });
    return { status: 201, body: reservationView(reservation) };
  },

  async commit_reserve(input, ctx) {
    await ownReservation(ctx, input.path.id);
    const reservation = await keyedWrite(ctx, async (db) => (await commit(db, input.path.id, input.body.amount)).reservation, { idOf: (r) => r.id, find: (id) => ownReservation(ctx, id) });
    return { status: 200, body: reservationView(reservation) };
  },

  async refund_reserve(input, ctx) {
    await ownReservation(ctx, input.path.id);
    const reservation = await keyedWrite(ctx, async (db) => (await release(db, input.path.id)).reservation, { idOf: (r) => r.id, find: (id) => ownReservation(ctx, id) });
    return { status: 200, body: reservationView(reservation) };
  },
} satisfies LedgerHandlers<AppContext>;
