/**
 * Time zones, with nothing but Intl: checking an IANA name, reading a wall-clock time in a zone
 * ("9am tomorrow in Europe/Paris" -> a UTC instant) and showing an instant in a zone.
 */
import type { Db } from '../db/knex.js';

/** True when Intl knows `zone` (IANA names such as Europe/Paris, and UTC). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at `instant`, in minutes (Paris in winter: 60). */
function offsetMinutes(instant: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  }).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(instant / 1000) * 1000) / 60_000);
}

/**
 * `2026-01-15T09:00[:00]` read in `zone` -> the instant. A time skipped by a DST change moves
 * forward by the gap; a repeated one takes its first occurrence.
 */
export function zonedToInstant(local: string, zone: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!m) throw new RangeError(`not a local date-time: ${local}`);
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  // Two passes settle the offset that applies at the result (it can differ around a DST change).
  let guess = wall - offsetMinutes(wall, zone) * 60_000;
  guess = wall - offsetMinutes(guess, zone) * 60_000;
  return new Date(guess);
}

/** `instant` as wall-clock time in `zone`, ISO 8601 with its offset: 2026-01-15T09:00:00+01:00. */
export function formatInZone(instant: Date, zone: string): string {
  const offset = offsetMinutes(instant.getTime(), zone);
  const local = new Date(Math.floor(instant.getTime() / 1000) * 1000 + offset * 60_000).toISOString().slice(0, 19);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export async function accountTimeZone(db: Db, accountId: string): Promise<string> {
  const row = await db('accounts').where({ id: accountId }).first('time_zone');
  return typeof row?.time_zone === 'string' && row.time_zone ? row.time_zone : 'UTC';
}
