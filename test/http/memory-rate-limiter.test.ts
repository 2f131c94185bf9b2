/** The in-process limiter (the shared one's stand-in while the database cannot take a write). */
import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../src/http/memory-rate-limiter.js';

describe('MemoryRateLimiter', () => {
  it('refills at perMinute / 60 per second, and a clock stepped back takes no tokens away', async () => {
    let now = 10_000_000;
    const limiter = new MemoryRateLimiter(2, () => now);
    expect((await limiter.take('k')).allowed).toBe(true);
    expect((await limiter.take('k')).allowed).toBe(true);
    expect((await limiter.take('k')).allowed).toBe(false);
    // Back an hour: before, the elapsed time counted negative and left the key 120 tokens in debt.
    now -= 3_600_000;
    expect((await limiter.take('k')).allowed).toBe(false);
    now += 30_000;
    expect((await limiter.take('k')).allowed).toBe(true);
  });
});
