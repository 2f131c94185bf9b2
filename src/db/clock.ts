import { ConfigError } from '../config.js';
import { monotonicNow, setDbOffset } from './cluster-time.js';
import { dbKind, type Db } from './knex.js';

/**
 * The most this process's clock may differ from the database's at start. Times other processes
 * compare (leases, expiries) follow the database server's clock once `followDbClock` runs, so
 * a clock that is off or steps later no longer decides who holds a job; what still reads this
 * machine's clock (S3 request signatures, log times, an upstream's Retry-After date) wants it
 * true, and a clock this far off says NTP is not running. 5 s is far outside what NTP leaves.
 */
export const MAX_CLOCK_SKEW_MS = 5_000;

/**
 * On PostgreSQL (processes on several machines), stops start-up when this machine's clock is
 * more than MAX_CLOCK_SKEW_MS off the database server's. SQLite lives on this machine, whose one
 * clock every process shares. The database's time is read between two local readings, so the
 * round trip cannot count as skew.
 */
export async function checkClock(db: Db, now: () => number = Date.now): Promise<void> {
  if (dbKind(db) !== 'postgres') return;
  await db.raw('select 1'); // a connection first: its opening is not part of the measurement
  const before = now();
  const result = await db.raw('select extract(epoch from clock_timestamp()) * 1000 as ms');
  const after = now();
  const dbMs = Number((result.rows as { ms: string }[])[0]!.ms);
  const skew = dbMs < before ? dbMs - before : dbMs > after ? dbMs - after : 0;
  if (Math.abs(skew) <= MAX_CLOCK_SKEW_MS) return;
  const off = `${(Math.abs(skew) / 1000).toFixed(1)} s ${skew < 0 ? 'ahead of' : 'behind'}`;
  throw new ConfigError(`this machine's clock is ${off} the database server's (at most ${MAX_CLOCK_SKEW_MS / 1000} s allowed); synchronise the clocks (NTP)`);
}

const followers = new Set<object>();

async function measureOffset(db: Db): Promise<number> {
  const before = monotonicNow();
  const result = await db.raw('select extract(epoch from clock_timestamp()) * 1000 as ms');
  const after = monotonicNow();
  // The server read its clock somewhere inside the round trip: its middle is the best guess.
  return Number((result.rows as { ms: string }[])[0]!.ms) - (before + after) / 2;
}

/**
 * On PostgreSQL, makes `clusterNow()` follow the database server's clock for as long as the
 * returned stop has not been called: measured now, then every `everyMs` (a failed measurement
 * keeps the last offset; the database's health is reported elsewhere). On SQLite, nothing.
 */
export async function followDbClock(db: Db, everyMs = 30_000): Promise<() => void> {
  if (dbKind(db) !== 'postgres') return () => {};
  await db.raw('select 1'); // a connection first: its opening is not part of the measurement
  setDbOffset(await measureOffset(db));
  const me = {};
  followers.add(me);
  const timer = setInterval(() => {
    measureOffset(db).then((ms) => { if (followers.has(me)) setDbOffset(ms); }, () => {});
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    followers.delete(me);
    if (followers.size === 0) setDbOffset(null);
  };
}
