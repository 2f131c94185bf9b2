import type { ValidationIssue } from './errors.js';
import { MAY_ROUND_INTEGER, roundedIntegerAt } from './json-integers.js';

/**
 * Parsed JSON that the server cannot keep as it was sent, found after JSON.parse:
 * - a number beyond a double (1e400): JSON.parse reads it as Infinity, which JSON.stringify writes
 *   as null, so a free-form field (a reservation's metadata) was stored and answered as null;
 * - a key `__proto__`: JSON.parse makes it an own key, but zod drops it from every object it
 *   outputs (strict, loose, record), so it vanished from what was stored while the request
 *   succeeded. Refused, as a client would rather hear than lose it;
 * - an integer literal beyond 2^53 that JSON.parse rounds (json-integers.ts).
 * Each is rare, so the value is walked (or the text scanned) only when the text may hold one.
 */
export function unkeepableJson(text: string, value: unknown): ValidationIssue | null {
  const numbers = MAY_OVERFLOW.test(text);
  // The key may be spelled with \u escapes: of `_`, `p`, `r`, `o` or `t` (others, such as the
  // \u00e9 a client's JSON writer makes of every é, cannot spell it).
  const proto = text.includes('__proto__') || PROTO_ESCAPE.test(text);
  const found = numbers || proto ? walk(value, [], numbers, proto) : null;
  return found ?? (MAY_ROUND_INTEGER.test(text) ? roundedIntegerAt(text) : null);
}

const PROTO_ESCAPE = /\\u00(5f|6f|7[024])/i;

/**
 * A number literal that can overflow a double has a three-digit exponent or 309 digits in a row (a
 * superset: strings may match). The run is anchored after a non-digit: a bare `\d{309}` is tried
 * from every digit, and a body of 308-digit runs (1 MiB) cost 3.4 s of CPU; anchored, 33 ms.
 */
const MAY_OVERFLOW = /[\d.][eE]\+?\d{3}|(?:^|\D)\d{309}/;

/**
 * The first unkeepable part of `v`. Depth is bounded by the body reader (MAX_JSON_DEPTH); `path`
 * is one stack for the whole walk, copied only when something is found (as in text.ts).
 */
function walk(v: unknown, path: (string | number)[], numbers: boolean, proto: boolean): ValidationIssue | null {
  if (typeof v === 'number') {
    return numbers && !Number.isFinite(v) ? { path: [...path], message: 'Number too large to represent (beyond ±1.8e308).', code: 'number_out_of_range' } : null;
  }
  if (typeof v !== 'object' || v === null) return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      const found = walk(v[i], path, numbers, proto);
      path.pop();
      if (found) return found;
    }
    return null;
  }
  for (const key in v) {
    if (!Object.hasOwn(v, key)) continue;
    if (proto && key === '__proto__') {
      return { path: [...path, key], message: 'A key named __proto__ is not accepted: it would not be kept.', code: 'reserved_key' };
    }
    // An own `__proto__` key shadows the inherited accessor, so indexing reads the data.
    path.push(key);
    const found = walk((v as Record<string, unknown>)[key], path, numbers, proto);
    path.pop();
    if (found) return found;
  }
  return null;
}
