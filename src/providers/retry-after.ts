/** The longest a provider's `Retry-After` makes a call wait; past it the call fails and the job retries. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * An HTTP date begins with a day name (IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850
 * `Sunday, 06-Nov-94 ...`, asctime `Sun Nov  6 ...`). Date.parse alone also reads `-5` and `1 2` as
 * dates in 2001, which made a malformed header mean "retry at once".
 */
const HTTP_DATE_START = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /;

/** `Retry-After` as milliseconds (delta seconds or an HTTP date, at most a minute), or null. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  const text = value?.trim();
  if (!text) return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(MAX_RETRY_AFTER_MS, Number(text) * 1000);
  if (!HTTP_DATE_START.test(text)) return null;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}
