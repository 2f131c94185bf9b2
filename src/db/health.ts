import type { Knex } from 'knex';
import type { StateLogger } from '../util/failure-log.js';

export type DatabaseState = 'unknown' | 'up' | 'down';

/** What knex's pool writes (to the console by default) each time a connection attempt fails. */
const CONNECTION_WARNING = /^(Acquire connection error|Connection Error)/;

export interface HealthOptions {
  /** Ping period (default 1 s). */
  intervalMs?: number;
  /** A ping slower than this counts as down (default 2 s): a black-holed server never refuses. */
  timeoutMs?: number;
}

/**
 * Whether the database answers, as /readyz reports it. A `select 1` every second keeps the state
 * current; knex's connection warnings flip it to down at once. Each change of state is logged
 * once (down with the reason, up with how long it was down) instead of a line per failed query.
 */
export class DatabaseHealth {
  private current: DatabaseState = 'unknown';
  private downSince = 0;
  private timer: NodeJS.Timeout | null = null;
  private pinging: Promise<boolean> | null = null;
  private log: (StateLogger & { error(obj: Record<string, unknown>, msg: string): void }) | null = null;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly db: Knex, options: HealthOptions = {}) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.timeoutMs = options.timeoutMs ?? 2_000;
  }

  get state(): DatabaseState {
    return this.current;
  }

  /** Starts pinging and logging through `log`; calling it again changes nothing. */
  start(log: StateLogger & { error(obj: Record<string, unknown>, msg: string): void }): void {
    this.log ??= log;
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Pings now (or joins the ping in flight) and answers whether the database is up. */
  check(): Promise<boolean> {
    this.pinging ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const slow = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      try {
        await Promise.race([this.db.raw('select 1'), slow]);
        this.set('up');
        return true;
      } catch (err) {
        this.set('down', err);
        return false;
      } finally {
        clearTimeout(timer);
        this.pinging = null;
      }
    })();
    return this.pinging;
  }

  /** knex's `log.warn`: connection failures mark the database down, anything else is logged. */
  knexWarning(message: string): void {
    if (CONNECTION_WARNING.test(message)) this.set('down', message.split('\n')[0]!.replace(CONNECTION_WARNING, '').replace(/^:\s*/, ''));
    else if (this.log) this.log.warn({ source: 'knex' }, message);
    else console.warn(message);
  }

  private set(state: 'up' | 'down', reason?: unknown): void {
    const was = this.current;
    this.current = state;
    if (was === state) return;
    if (state === 'down') {
      this.downSince = Date.now();
      const why = reason instanceof Error ? reason.message : String(reason);
      this.log?.error({ err: why.slice(0, 500) }, 'database unreachable');
    } else if (was === 'down') {
      this.log?.info({ down_for_ms: Date.now() - this.downSince }, 'database reachable again');
    }
  }
}

const trackers = new WeakMap<Knex, DatabaseHealth>();

/** The one health tracker of a knex instance (created on first use). */
export function databaseHealth(db: Knex): DatabaseHealth {
  let health = trackers.get(db);
  if (!health) {
    health = new DatabaseHealth(db);
    trackers.set(db, health);
  }
  return health;
}
