/**
 * Lavendly's idempotency store: the framework's `IdempotencyStore` on the `idempotency_keys` table
 * (migrations), with the statements every keyed request runs written once as SQL (src/db/fast.ts)
 * instead of built by knex per request. The Idempotency-Key layer itself (claim, replay, 409s,
 * renewal while the request runs) is the framework's.
 */
import crypto from 'node:crypto';
import { Sightings, type Claim, type IdempotencyStore, type IdempotentRun } from '@lavendly/framework';
import type { Knex } from 'knex';
import type { Db } from '../db/knex.js';
import { first as fastFirst, run as fastRun, sql } from '../db/fast.js';
import { newId } from '../util/ids.js';
import { isUniqueViolation } from '../db/sql.js';
import { clusterNow } from '../db/cluster-time.js';

export interface IdempotencyOptions {
  windowS: number;
  /**
   * How long a claim holds without renewal before a retry may take it over (a crashed process);
   * default 30 s. The framework's layer renews it while the request runs.
   */
  leaseS?: number;
}

/** The database side: claim, renew, complete, release, sweep. One instance per app. */
export class SqlIdempotencyStore implements IdempotencyStore {
  private readonly windowMs: number;
  readonly leaseMs: number;
  /** The framework's layer renews a claim every third of a lease; half a lease unchanged is death. */
  private readonly sightings: Sightings;

  constructor(private readonly db: Db, options: IdempotencyOptions) {
    this.windowMs = options.windowS * 1000;
    this.leaseMs = Math.min(this.windowMs, (options.leaseS ?? 30) * 1000);
    this.sightings = new Sightings(this.leaseMs / 2, 10_000);
  }

  async claim(accountId: string, operationId: string, key: string, requestHash: string): Promise<Claim> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = clusterNow();
      const token = crypto.randomBytes(12).toString('hex');
      const id = newId('idem');
      try {
        await fastRun(this.db, INSERT_CLAIM, [
          id, accountId, operationId, key, requestHash, token, iso(now + this.leaseMs), iso(now), iso(now + this.windowMs),
        ]);
        return { kind: 'claimed', rowId: id, token };
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const row = await fastFirst<StoredClaim>(this.db, FIND_CLAIM, [accountId, operationId, key]);
      if (!row) continue; // released or expired between our insert and this read: try again
      if (row.expires_at <= iso(now) && row.state !== 'running') {
        // An old use of the key: forget it (only that exact row) and claim afresh. (Not a running
        // one: a live request renews its window, so one past it is a step of the shared clock or
        // a dead process's, which is taken over below as any expired claim is.)
        await this.db('idempotency_keys').where({ id: row.id, expires_at: row.expires_at }).del();
        continue;
      }
      if (row.request_hash !== requestHash) return { kind: 'reused' };
      if (row.state === 'done') {
        return { kind: 'replay', status: Number(row.status), headers: JSON.parse(row.headers ?? '{}'), body: row.body ?? null };
      }
      if (row.locked_until && row.locked_until < iso(now) && (row.effect != null || this.sightings.confirmedOnce(row.id, `${row.lock_token}@${row.locked_until}`))) {
        // The process that claimed it died mid-request: take the claim over, once. Unless its
        // write committed (an effect: the takeover answers with what was made, never writes
        // again), only once this process has watched the claim stay expired and unrenewed for
        // half a lease: a forward step of the shared clock makes a live claim look expired too,
        // and running the request beside it would write twice.
        const taken = await this.db('idempotency_keys')
          .where({ id: row.id, state: 'running', lock_token: row.lock_token })
          .update({ lock_token: token, locked_until: iso(now + this.leaseMs), expires_at: iso(now + this.windowMs) });
        if (taken === 1) return { kind: 'claimed', rowId: row.id, token, effect: row.effect };
      }
      return { kind: 'in_progress' };
    }
    return { kind: 'in_progress' };
  }

  /**
   * Extends a running claim by one lease, and its replay window to a full window from now (a
   * request may run longer than the window; its key must not expire under it). False when the
   * claim is no longer ours.
   */
  async renew(rowId: string, token: string): Promise<boolean> {
    const now = clusterNow();
    const n = await this.db('idempotency_keys')
      .where({ id: rowId, lock_token: token, state: 'running' })
      .update({ locked_until: iso(now + this.leaseMs), expires_at: iso(now + this.windowMs) });
    return n === 1;
  }

  async complete(rowId: string, token: string, status: number, headers: Record<string, string>, body: string | null): Promise<boolean> {
    // The window counts from the answer.
    const n = await fastRun(this.db, COMPLETE, [status, JSON.stringify(headers), body, iso(clusterNow() + this.windowMs), rowId, token]);
    return n === 1;
  }

  /**
   * Frees the key so a retry runs the request again, unless the run recorded an effect
   * (src/http/keyed-write.ts): then its write committed and something after it failed (a 5xx
   * while reading the answer back), and running again would write twice. That claim stays, its
   * lease ended now, so the retry takes it over at once and answers with what was made.
   */
  async release(rowId: string, token: string): Promise<void> {
    const mine = { id: rowId, lock_token: token, state: 'running' };
    const kept = await this.db('idempotency_keys').where(mine).whereNotNull('effect').update({ locked_until: iso(clusterNow() - 1) });
    if (kept === 0) await this.db('idempotency_keys').where({ id: rowId, lock_token: token }).del();
  }

  /**
   * Deletes expired keys; returns how many. Called on a timer by the server. A running claim past
   * its window only once it has also been seen expired and unrenewed for half a lease (a sweep
   * later): a live request renews it, but a forward step of the shared clock makes it look old.
   */
  async sweep(limit = 1000): Promise<number> {
    const now = iso(clusterNow());
    const rows = (await this.db('idempotency_keys').where('expires_at', '<=', now).limit(limit)
      .select('id', 'state', 'lock_token', 'locked_until')) as Pick<StoredClaim, 'id' | 'state' | 'lock_token' | 'locked_until'>[];
    const ids = rows.filter((r) => r.state !== 'running'
      || ((r.locked_until ?? '') < now && this.sightings.confirmed(r.id, `${r.lock_token}@${r.locked_until}`))).map((r) => r.id);
    if (!ids.length) return 0;
    // A renewal since the read moved expires_at on: that row stays.
    return this.db('idempotency_keys').whereIn('id', ids).andWhere('expires_at', '<=', now).del();
  }
}

interface StoredClaim {
  id: string; request_hash: string; state: string; lock_token: string | null; locked_until: string | null;
  status: number | string | null; headers: string | null; body: string | null; expires_at: string; effect: string | null;
}

// Every request with an Idempotency-Key runs these: written out once (src/db/fast.ts).
const INSERT_CLAIM = sql('insert into "idempotency_keys" ("id", "account_id", "operation_id", "idem_key", "request_hash", "state",'
  + ' "lock_token", "locked_until", "created_at", "expires_at") values (?, ?, ?, ?, ?, \'running\', ?, ?, ?, ?)');
const FIND_CLAIM = sql('select * from "idempotency_keys" where "account_id" = ? and "operation_id" = ? and "idem_key" = ? limit 1');
const COMPLETE = sql('update "idempotency_keys" set "state" = \'done\', "lock_token" = null, "locked_until" = null, "status" = ?,'
  + ' "headers" = ?, "body" = ?, "expires_at" = ? where "id" = ? and "lock_token" = ? and "state" = \'running\'');

/**
 * Records what a keyed run made (an id) on its key's row, in the write's transaction `trx`, so both
 * commit together (src/http/keyed-write.ts). False when the claim is no longer this run's: a retry
 * took it over and does the write itself, so the caller rolls its own back.
 */
export async function recordEffect(trx: Knex.Transaction, run: IdempotentRun, effect: string): Promise<boolean> {
  return (await fastRun(trx, RECORD_EFFECT, [effect, run.rowId, run.token])) === 1;
}

const RECORD_EFFECT = sql('update "idempotency_keys" set "effect" = ? where "id" = ? and "lock_token" = ? and "state" = \'running\'');

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
