/**
 * Usage figures for `get_monthly_usage` and `get_top_spenders`. Credits spent are the ledger's
 * commit entries (every charge, whoever made it: generation, renders, service keys); clips and
 * renders come from the `usage_daily` counters, written in the transaction of each event
 * (`recordUsage` in store.ts; a finished render should call it with `{ renders: 1 }`).
 * Months and days are UTC.
 */
import type { Db } from '../db/knex.js';
import { DomainError } from '../errors.js';

interface DayUsage {
  date: string;
  credits_spent: number;
  clips_generated: number;
  renders: number;
}

export interface MonthUsage {
  month: string;
  credits_spent: number;
  clips_generated: number;
  renders: number;
  days: DayUsage[];
}

export interface SpenderUsage {
  account_id: string;
  account_name: string | null;
  credits_spent: number;
  clips_generated: number;
  renders: number;
}

export function currentMonth(now: Date = new Date()): string {
  return now.toISOString().slice(0, 7);
}

/** `[first day, first day of the next month)` of a `YYYY-MM` month, as `YYYY-MM-DD`. */
function monthBounds(month: string): { from: string; to: string } {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (!m) throw new DomainError('validation_error', `month must be YYYY-MM (got ${month}).`, { field: 'month' });
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const next = mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
  return { from: `${month}-01`, to: `${next}-01` };
}

/** The days of the month to report: all of a past month, up to today for this one, none ahead. */
function reportedDays(month: string, now: Date): string[] {
  const { from, to } = monthBounds(month);
  const today = now.toISOString().slice(0, 10);
  const days: string[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); ; d = new Date(d.getTime() + 86_400_000)) {
    const day = d.toISOString().slice(0, 10);
    if (day >= to || day > today) break;
    days.push(day);
  }
  return days;
}

const n = (v: unknown) => Number(v ?? 0);

async function creditsByDay(db: Db, accountId: string | null, month: string): Promise<Map<string, number>> {
  const { from, to } = monthBounds(month);
  const q = db('ledger_entries')
    .where({ kind: 'commit' })
    .andWhere('created_at', '>=', from)
    .andWhere('created_at', '<', to)
    .select(db.raw('substr(created_at, 1, 10) as day'), db.raw('sum(amount) as spent'))
    .groupByRaw('substr(created_at, 1, 10)');
  if (accountId) q.andWhere({ account_id: accountId });
  const rows = (await q) as Array<{ day: string; spent: unknown }>;
  return new Map(rows.map((r) => [String(r.day), n(r.spent)]));
}

export async function monthlyUsage(db: Db, accountId: string, month: string = currentMonth(), now: Date = new Date()): Promise<MonthUsage> {
  const { from, to } = monthBounds(month);
  const [credits, counters] = await Promise.all([
    creditsByDay(db, accountId, month),
    db('usage_daily').where({ account_id: accountId }).andWhere('day', '>=', from).andWhere('day', '<', to)
      .select('day', 'clips_generated', 'renders') as Promise<Array<{ day: string; clips_generated: unknown; renders: unknown }>>,
  ]);
  const byDay = new Map(counters.map((c) => [String(c.day), c]));
  const days = reportedDays(month, now).map((date) => ({
    date,
    credits_spent: credits.get(date) ?? 0,
    clips_generated: n(byDay.get(date)?.clips_generated),
    renders: n(byDay.get(date)?.renders),
  }));
  // Totals cover the whole month even if some activity is dated after "today" (clock skew).
  return {
    month,
    credits_spent: [...credits.values()].reduce((a, b) => a + b, 0),
    clips_generated: counters.reduce((a, c) => a + n(c.clips_generated), 0),
    renders: counters.reduce((a, c) => a + n(c.renders), 0),
    days,
  };
}

/** Accounts by credits spent in the month, highest first (ties by id), with their clip and render counts. */
export async function topSpenders(db: Db, month: string = currentMonth(), top = 10): Promise<SpenderUsage[]> {
  const { from, to } = monthBounds(month);
  const spent = (await db('ledger_entries as e')
    .join('accounts as a', 'a.id', 'e.account_id')
    .where('e.kind', 'commit')
    .andWhere('e.created_at', '>=', from)
    .andWhere('e.created_at', '<', to)
    .groupBy('e.account_id', 'a.name')
    .select('e.account_id', 'a.name', db.raw('sum(e.amount) as spent'))
    .orderByRaw('sum(e.amount) desc, e.account_id asc')
    .limit(top)) as Array<{ account_id: string; name: string | null; spent: unknown }>;
  if (!spent.length) return [];
  const counters = (await db('usage_daily')
    .whereIn('account_id', spent.map((s) => s.account_id))
    .andWhere('day', '>=', from)
    .andWhere('day', '<', to)
    .groupBy('account_id')
    .select('account_id', db.raw('sum(clips_generated) as clips'), db.raw('sum(renders) as renders'))) as Array<{ account_id: string; clips: unknown; renders: unknown }>;
  const byAccount = new Map(counters.map((c) => [String(c.account_id), c]));
  return spent.map((s) => ({
    account_id: s.account_id,
    account_name: s.name ?? null,
    credits_spent: n(s.spent),
    clips_generated: n(byAccount.get(s.account_id)?.clips),
    renders: n(byAccount.get(s.account_id)?.renders),
  }));
}
