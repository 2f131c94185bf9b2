/**
 * The failure windows of sign-ins and client registrations are keyed by what clients send
 * (addresses, emails): their count must stay at the cap however many distinct keys arrive, and
 * the throttle must keep working at the cap.
 */
import { describe, expect, it } from 'vitest';
import { FailureThrottle } from '../../src/console-auth/throttle.js';

describe('FailureThrottle', () => {
  it('holds at most maxKeys windows after many distinct keys, forgetting the oldest first', () => {
    const t = new FailureThrottle(2, 3600_000, () => 1_000, 1_000);
    for (let i = 0; i < 20_000; i++) t.fail(`2001:db8::${i.toString(16)}`);
    expect(t.size).toBe(1_000);
    // The newest keys are still counted: one more failure blocks them; the oldest are forgotten.
    t.fail('2001:db8::4e1f');
    expect(t.blockedFor('2001:db8::4e1f')).toBe(3600);
    t.fail('2001:db8::0');
    expect(t.blockedFor('2001:db8::0')).toBe(0);
  });

  it('keeps blocking a key whose window is newer than the ones evicted', () => {
    let now = 0;
    const t = new FailureThrottle(3, 60_000, () => now, 100);
    for (let i = 0; i < 99; i++) t.fail(`a${i}`);
    now = 10;
    for (let i = 0; i < 3; i++) t.fail('guesser');
    for (let i = 0; i < 50; i++) t.fail(`b${i}`);
    expect(t.size).toBe(100);
    expect(t.blockedFor('guesser')).toBe(60);
  });

  it('drops expired windows before live ones, and a renewed window moves to the back', () => {
    let now = 0;
    const t = new FailureThrottle(1, 1_000, () => now, 3);
    t.fail('old');
    t.fail('renewed');
    now = 1_500;
    t.fail('renewed'); // its new window is now the newest
    t.fail('x');
    t.fail('y'); // at the cap: 'old' (expired) goes, the live ones stay
    expect(t.size).toBe(3);
    expect(t.blockedFor('renewed')).toBe(1);
    expect(t.blockedFor('x')).toBe(1);
    t.fail('z'); // nothing expired: the oldest live window ('renewed') goes
    expect(t.blockedFor('renewed')).toBe(0);
    expect(t.blockedFor('z')).toBe(1);
  });
});
