/**
 * A provider's Retry-After. Before, anything Date.parse read counted as a date: `-5` is a day in
 * 2001, so a malformed header made the call retry at once instead of backing off.
 */
import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../src/providers/retry-after.js';

const now = Date.parse('2026-12-07T12:00:00Z');

describe("a provider's Retry-After", () => {
  it('reads delta seconds, capped at a minute', () => {
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs(' 1.5 ', now)).toBe(1500);
    expect(retryAfterMs('3600', now)).toBe(60_000);
  });

  it('reads HTTP dates in their three forms', () => {
    expect(retryAfterMs('Mon, 07 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Monday, 07-Dec-26 12:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('Mon Dec  7 12:00:05 2026', now)).not.toBeNull();
    expect(retryAfterMs('Sun, 06 Dec 2026 12:00:00 GMT', now)).toBe(0);
  });

  it('ignores what is neither, so the caller backs off', () => {
    for (const value of ['-5', '+5', '.5', '1 2', '5, 5', '1e3', 'nan', '2100-01-01', 'soon', '', null]) {
      expect(retryAfterMs(value, now), String(value)).toBeNull();
    }
  });
});
