/**
 * Reading `Retry-After-Ms` and `Retry-After` as the Python SDK reads them (_exceptions.py,
 * retry_after_seconds): a plain decimal number (digits, an optional fraction), else for
 * Retry-After an HTTP date, else nothing, so that the backoff applies. Date.parse is not used: it
 * takes '-5', '+5', '1 2' or '5, 5' as dates long past (a retry at once) and ISO dates no HTTP
 * server sends.
 * Part of the SDK runtime (see index.ts): only web-standard globals and sibling files may be used.
 */

const NUMBER = /^\s*\d+(\.\d+)?\s*$/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** The zone names Python's email.utils knows, in hours from UTC. */
const ZONES: Record<string, number> = {
  gmt: 0, ut: 0, utc: 0, z: 0, ast: -4, adt: -3, est: -5, edt: -4, cst: -6, cdt: -5, mst: -7, mdt: -6, pst: -8, pdt: -7,
};
const MONTH = '([a-z]{3})';
const TIME = '(\\d{1,2}):(\\d{2})(?::(\\d{2}))?';
const ZONE = '(?:\\s+([a-z]{1,3}|[+-]\\d{4}))?';
/** `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110's IMF-fixdate, and RFC 5322's looser form). */
const IMF = new RegExp(`^(?:[a-z]+(?:,\\s*|\\s+))?(\\d{1,2})\\s+${MONTH}\\s+(\\d{2,4})\\s+${TIME}${ZONE}$`, 'i');
/** `Sunday, 06-Nov-94 08:49:37 GMT` (RFC 850, obsolete). */
const RFC850 = new RegExp(`^(?:[a-z]+(?:,\\s*|\\s+))?(\\d{1,2})-${MONTH}-(\\d{2,4})\\s+${TIME}${ZONE}$`, 'i');
/** `Sun Nov  6 08:49:37 1994` (C's asctime, obsolete; always GMT). */
const ASCTIME = new RegExp(`^(?:[a-z]+,?\\s+)?${MONTH}\\s+(\\d{1,2})\\s+${TIME}\\s+(\\d{4})$`, 'i');

/** `Retry-After-Ms`, or `Retry-After` as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(headers: Headers | null | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  // 99…9 (400 digits) is Infinity: no number, so Retry-After beside it is read instead.
  if (ms && NUMBER.test(ms) && Number.isFinite(Number(ms))) return Number(ms);
  const value = headers.get('retry-after');
  if (!value) return undefined;
  if (NUMBER.test(value)) return Number(value) * 1000;
  const date = httpDate(value.trim());
  return date === undefined ? undefined : Math.max(0, date - Date.now());
}

/**
 * An HTTP date (RFC 9110 5.6.7: IMF-fixdate, RFC 850 or asctime) as epoch milliseconds, or
 * undefined. A date without a zone is GMT, as every HTTP date is; one that does not exist
 * (31 Feb, 25:00) is none.
 */
function httpDate(text: string): number | undefined {
  const f = dateFields(text);
  if (!f) return undefined;
  const month = MONTHS.indexOf(f.month.toLowerCase());
  let year = Number(f.year);
  // Two-digit years as Python reads them (POSIX): 69-99 are 19xx, 00-68 are 20xx.
  if (year < 100) year += year > 68 ? 1900 : 2000;
  const offset = zoneOffsetMs(f.zone ?? 'gmt');
  const [day, h, min, s] = [Number(f.day), Number(f.hour), Number(f.minute), Number(f.second ?? 0)];
  if (month < 0 || offset === undefined || h > 23 || min > 59 || s > 59) return undefined;
  const at = new Date(Date.UTC(2000, month, day, h, min, s));
  at.setUTCFullYear(year); // Date.UTC would read a year below 100 as 19xx
  // 31 Apr or 29 Feb 2001 roll over into the next month.
  if (at.getUTCDate() !== day || at.getUTCMonth() !== month) return undefined;
  return at.getTime() - offset;
}

interface DateFields { day: string; month: string; year: string; hour: string; minute: string; second: string | undefined; zone: string | undefined }

function dateFields(text: string): DateFields | undefined {
  const m = IMF.exec(text) ?? RFC850.exec(text);
  if (m) return { day: m[1]!, month: m[2]!, year: m[3]!, hour: m[4]!, minute: m[5]!, second: m[6], zone: m[7] };
  const a = ASCTIME.exec(text);
  if (a) return { month: a[1]!, day: a[2]!, hour: a[3]!, minute: a[4]!, second: a[5], year: a[6]!, zone: undefined };
  return undefined;
}

function zoneOffsetMs(zone: string): number | undefined {
  const hours = ZONES[zone.toLowerCase()];
  if (hours !== undefined) return hours * 3_600_000;
  const m = /^([+-])(\d{2})(\d{2})$/.exec(zone);
  if (!m || Number(m[3]) > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}
