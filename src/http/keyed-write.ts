/**
 * Keyed writes that run once per Idempotency-Key, even when a server dies between the write's
 * commit and its stored answer.
 *
 * The framework's layer stores a keyed request's answer after the handler returns. A server killed
 * in between left the write done and the key claimed but unanswered; the client's retry, once the
 * claim ran out, ran the write again: a second workflow, a second reservation of credits, a second
 * render. Here the write records what it made on the key's row in its own transaction
 * (`recordEffect`); a retry that takes the claim over finds it (`IdempotentRun.effect`) and
 * answers with that.
 *
 * The record is also a fence: a run whose claim a retry took over while it was slow (not dead)
 * finds the row no longer its own, and its transaction rolls back; the retry does the write.
 */
import { idempotentRunOf, type IdempotentRun } from '@lavendly/framework';
import type { Knex } from 'knex';
import type { AppContext } from './context.js';
import { ApiError } from './errors.js';
import { recordEffect } from './idempotency-store.js';

/** Records, inside the write's transaction, the id of what it made. */
export type EffectRecorder = (trx: Knex.Transaction, id: string) => Promise<void>;

interface Made<R> {
  /** The answer for a retry whose earlier run made `id` and died before answering. */
  find(id: string): Promise<R>;
}

/**
 * For a write that only touches the database: without a key it runs as is; with one it runs in a
 * transaction that also records `idOf(result)` (the write's own transactions become savepoints).
 */
export async function keyedWrite<R>(
  ctx: AppContext, write: (db: Knex) => Promise<R>, made: Made<R> & { idOf(result: R): string },
): Promise<R> {
  const run = idempotentRunOf(ctx.koa);
  if (!run) return write(ctx.db);
  if (run.effect) return made.find(run.effect);
  return ctx.db.transaction(async (trx) => {
    const result = await write(trx);
    await record(trx, run, made.idOf(result));
    return result;
  });
}

/**
 * For a write that does slow work (a DNS lookup, a probe) before its transaction, which must not
 * hold the database meanwhile: the write calls the recorder inside its own transaction.
 */
export async function keyedWriteWithin<R>(
  ctx: AppContext, write: (recordIn: EffectRecorder | undefined) => Promise<R>, made: Made<R>,
): Promise<R> {
  const run = idempotentRunOf(ctx.koa);
  if (!run) return write(undefined);
  if (run.effect) return made.find(run.effect);
  return write((trx, id) => record(trx, run, id));
}

async function record(trx: Knex.Transaction, run: IdempotentRun, id: string): Promise<void> {
  if (await recordEffect(trx, run, id)) return;
  throw new ApiError(
    'idempotency_key_in_progress',
    'A retry with this Idempotency-Key took the request over while it ran; it makes the change, so this run made none. Retry to get its answer.',
    {}, { 'Retry-After': '1' },
  );
}
