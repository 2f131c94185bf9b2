import type { Db } from '../db/knex.js';
import { pruneBuckets, takeToken, type BucketSpec, type TakeResult } from '../accounts/rate-buckets.js';
import { isDiskFull } from '../util/disk-full.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { outcome, type RateLimiter, type Take } from './rate-take.js';
import { clusterNow } from '../db/cluster-time.js';

/**
 * Tokens a process took ahead from one shared bucket (a subject, with or without its key check),
 * spent here without a statement and refilled in the background before they run out.
 */
interface Lease {
  readonly subject: string;
  readonly liveKeyId: string | undefined;
  tokens: number;
  /** The shared bucket's tokens right after the newest statement (for the RateLimit headers). */
  bucketTokens: number;
  /** The key check of the newest statement, and when that statement started. */
  keyLive?: boolean;
  checkedAt: number;
  /** The newest statement's start + LEASE_MS: no token is spent from then on. */
  expiresAt: number;
  /** A refill starts once fewer tokens than this are left ... */
  lowWater: number;
  /** ... or from this time on (the lease's second half), so a steady take never finds it gone. */
  renewAt: number;
  /** The tokens a full lease holds for this subject now: grows while they go fast (nextSize). */
  size: number;
  /** When the last statement's tokens landed. */
  filledAt: number;
  /** The bucket held less than twice the grown size at the last statement: nothing is taken ahead. */
  low: boolean;
  /** The statement in flight for this lease (it never rejects): takes that find it empty wait for it. */
  refill: Promise<void> | null;
}

/** How long a lease may be spent: also how late a revocation can reach a request. */
export const LEASE_MS = 200;
/** Most tokens a new lease takes. */
const MAX_LEASE = 32;
/** Most tokens a lease grows to for a subject that spends it fast. */
const MAX_GROWN_LEASE = 256;

/**
 * The lease size for a limit: 1/64 of the capacity, at most MAX_LEASE; 1 (no lease) below 128 a
 * minute. Tokens sitting in leases can make another process refuse early, but only while the
 * shared bucket holds less than twice a grown lease (a take then gets one token): at most one
 * lease's tokens per process, under 2% of the capacity (grownLeaseSize keeps a lease within 1/64).
 * A lease never lets more through than the limit.
 */
export function leaseSize(perMinute: number): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(perMinute / 64)));
}

/**
 * The most a lease grows to: MAX_GROWN_LEASE, but never over 1/64 of the capacity, so the bound
 * above holds for grown leases too. A refill tops a lease up to its size (never beyond), and the
 * bucket grants more than one token only while it holds twice this size, whatever size the lease
 * has now: every process stops taking ahead at the same level of the bucket.
 */
export function grownLeaseSize(perMinute: number): number {
  return Math.max(leaseSize(perMinute), Math.min(MAX_GROWN_LEASE, Math.floor(perMinute / 64)));
}

const ignore = () => {};

/**
 * Buckets in the database (src/accounts/rate-buckets.ts): every process on the database shares
 * them, so N API processes allow the limit once. A take that finds the bucket full enough takes a
 * small lease (leaseSize) and spends it over the next LEASE_MS without another statement, which
 * spares busy keys most of the per-request upserts.
 *
 * A lease is refilled ahead: once it runs low or is half way to its expiry, one statement in the
 * background tops it up and renews its key check and expiry, while takes go on spending what is
 * left. A take waits only when it finds the lease empty, and then for the refill in flight rather
 * than a statement of its own. A subject that spends its lease fast gets a bigger one next
 * (grownLeaseSize). Buckets that have refilled are deleted at most once a minute per process.
 */
export class SharedRateLimiter implements RateLimiter {
  private lastPrune: number;
  /** Leases by subject, and apart those taken with the subject's own key checked live (an API key's bucket). */
  private readonly leases = new Map<string, Lease>();
  private readonly liveLeases = new Map<string, Lease>();
  /** A new lease's size, and the most a lease grows to. */
  private readonly base: number;
  private readonly most: number;
  private readonly spec: BucketSpec;
  /** Background statements (refills, prunes) in flight, which `close` waits for. */
  private readonly pending = new Set<Promise<void>>();
  private closed = false;
  /** Buckets in memory, used only while the shared ones cannot be written (a full disk). */
  private local: MemoryRateLimiter | null = null;

  constructor(
    private readonly db: Db,
    /** Which limit this is, e.g. 'api_key' (the rows of different limits never mix). */
    bucket: string,
    readonly perMinute: number,
    private readonly now: () => number = clusterNow,
  ) {
    this.lastPrune = now();
    this.base = leaseSize(perMinute);
    this.most = grownLeaseSize(perMinute);
    this.spec = { bucket, capacity: perMinute, perMs: perMinute / 60_000 };
  }

  /** Where the lease of this take lives, and its key there (no key built for an API key's own bucket). */
  private leaseSlot(subject: string, liveKeyId: string | undefined): [Map<string, Lease>, string] {
    if (liveKeyId === undefined) return [this.leases, subject];
    return liveKeyId === subject ? [this.liveLeases, subject] : [this.leases, `${subject}\0${liveKeyId}`];
  }

  takeNow(subject: string, liveKeyId?: string): Take | null {
    const lease = liveKeyId === subject ? this.liveLeases.get(subject) : this.leases.get(liveKeyId === undefined ? subject : `${subject}\0${liveKeyId}`);
    return this.spend(lease, this.now());
  }

  /** One token from a live lease, or null when there is none with a token left; starts a refill when due. */
  private spend(lease: Lease | undefined, now: number): Take | null {
    if (!lease || lease.tokens < 1 || now >= lease.expiresAt) return null;
    lease.tokens -= 1;
    if ((lease.tokens < lease.lowWater || now >= lease.renewAt) && lease.refill === null && !lease.low) this.refillAhead(lease, now);
    return outcome(true, lease.bucketTokens + lease.tokens, this.perMinute, lease.keyLive);
  }

  async take(subject: string, liveKeyId?: string): Promise<Take> {
    try {
      return await this.takeShared(subject, liveKeyId);
    } catch (err) {
      // The bucket's upsert is a write: on a full disk every request, reads included, failed with
      // it. Reads need no space, so until writes work again this process counts on its own
      // (N processes then allow N times the limit). The key check that rides on the statement is
      // then the key lookup's alone, as with the limit off (LAVENDLY_AUTH_CACHE_MS bounds it).
      if (!isDiskFull(err)) throw err;
      this.local ??= new MemoryRateLimiter(this.perMinute, this.now);
      return this.local.take(subject);
    }
  }

  private async takeShared(subject: string, liveKeyId?: string): Promise<Take> {
    const now = this.now();
    if (now - this.lastPrune >= 60_000) this.prune(now);
    if (this.base === 1) {
      // No leases for this limit: a statement per take.
      const r = await takeToken(this.db, this.spec, subject, now, liveKeyId);
      return outcome(r.taken, r.tokens, this.perMinute, r.keyLive);
    }
    const [leases, key] = this.leaseSlot(subject, liveKeyId);
    let lease = leases.get(key);
    const leased = this.spend(lease, now);
    if (leased) return leased;
    if (lease?.refill) {
      // Empty, with a refill on its way: wait for that one rather than start another. If its
      // tokens are gone (or it failed), this take asks on its own.
      await lease.refill;
      // The clock after the wait: the refill's landing time is newer than `now`, and a stale one
      // would read its tokens as spent within no time and grow the next lease for nothing.
      const after = this.now();
      return this.spend(lease, after) ?? this.statement(lease, after, false);
    }
    if (!lease) {
      if (leases.size >= 10_000) this.dropExpired(leases, now);
      lease = {
        subject, liveKeyId, tokens: 0, bucketTokens: 0, checkedAt: -Infinity, expiresAt: -Infinity,
        lowWater: 0, renewAt: -Infinity, size: this.base, filledAt: -Infinity, low: false, refill: null,
      };
      leases.set(key, lease);
    }
    // While the bucket is low every statement grants one token: takes then each ask on their own.
    return this.statement(lease, now, !lease.low);
  }

  /**
   * A take's own statement, for a lease it found empty or expired: a full lease's tokens land in
   * it, one of them this take's. `joinable`: takes that find the lease empty meanwhile wait for it.
   */
  private async statement(lease: Lease, now: number, joinable: boolean): Promise<Take> {
    if (now >= lease.expiresAt) {
      // Gone quiet: whatever was left expired, and a new lease starts small again.
      lease.tokens = 0;
      lease.size = this.base;
    }
    const size = lease.size;
    const landed = takeToken(this.db, this.spec, lease.subject, now, lease.liveKeyId, size, this.most)
      .then((r) => { this.land(lease, r, now, size, true); return r; });
    if (joinable) {
      const settled = landed.then(ignore, ignore).then(() => { lease.refill = null; });
      lease.refill = settled;
    }
    const r = await landed;
    return outcome(r.taken, lease.bucketTokens + lease.tokens, this.perMinute, r.keyLive);
  }

  /** Starts the one background refill of a lease that runs low or old (spend checked none is in flight). */
  private refillAhead(lease: Lease, now: number): void {
    if (this.closed) return;
    lease.size = this.nextSize(lease, now);
    const settled = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        if (this.closed) return;
        const startedAt = this.now();
        const size = lease.size;
        // Topped up to a full lease: tokens spent meanwhile are asked for too, and no more.
        return takeToken(this.db, this.spec, lease.subject, startedAt, lease.liveKeyId, Math.max(1, size - lease.tokens), this.most)
          .then((r) => this.land(lease, r, startedAt, size, false));
      })
      // A failure (database busy or closed) is nobody's request: the lease runs out, and the take
      // that finds it empty asks on its own.
      .then(ignore, ignore)
      .then(() => { lease.refill = null; });
    lease.refill = settled;
    this.track(settled);
  }

  /**
   * The size of a lease's next refill: twice as big when the last refill's tokens went within a
   * quarter of LEASE_MS, half when the lease got old with tokens to spare (within base..most).
   */
  private nextSize(lease: Lease, now: number): number {
    if (lease.tokens < lease.lowWater) return now - lease.filledAt < LEASE_MS / 4 ? Math.min(this.most, lease.size * 2) : lease.size;
    return Math.max(this.base, Math.floor(lease.size / 2));
  }

  /** A statement's tokens into the lease (one of them the calling take's when `own`), with its numbers if it is the newest. */
  private land(lease: Lease, r: TakeResult, startedAt: number, size: number, own: boolean): void {
    lease.tokens += own ? Math.max(0, r.count - 1) : r.count;
    lease.filledAt = this.now();
    if (startedAt < lease.checkedAt) return;
    // Tokens already in the lease stay: they were taken from the bucket, and the key check and
    // expiry are renewed with them, so revocations still land within LEASE_MS.
    lease.checkedAt = startedAt;
    lease.bucketTokens = r.tokens;
    lease.keyLive = r.keyLive;
    lease.expiresAt = startedAt + LEASE_MS;
    lease.renewAt = startedAt + LEASE_MS / 2;
    lease.lowWater = Math.ceil(size / 4);
    lease.low = r.tokens < 2 * this.most;
  }

  /** Deletes buckets that have refilled (in the background: the request need not wait). */
  private prune(now: number): void {
    this.lastPrune = now;
    // A failure only leaves rows for the next prune.
    this.track(pruneBuckets(this.db, now).then(ignore, ignore));
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.then(() => this.pending.delete(p));
  }

  /** Resolves once no background statement is in flight (refills that land start no more by themselves). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all(this.pending);
  }

  /** Stops refilling ahead and waits for the background statements in flight: call before the database closes. */
  close(): Promise<void> {
    this.closed = true;
    return this.idle();
  }

  /** Forgets spent and expired leases (their unspent tokens are not returned: see leaseSize). */
  private dropExpired(leases: Map<string, Lease>, now: number): void {
    for (const [key, lease] of leases) if ((lease.tokens < 1 || now >= lease.expiresAt) && lease.refill === null) leases.delete(key);
  }
}
