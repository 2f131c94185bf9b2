// Sightings (@lavendly/framework), the one record of "a value seen unchanged since when" that job
// leases, idempotency claims, stale publications and temporary-file sweeps wait on before a
// takeover. A wait of 0 shows the counting rules without timing anything: a value counts only
// from its first sighting, so it is confirmed at the second look at the earliest.
import { Sightings } from '@lavendly/framework';
import { describe, expect, it } from 'vitest';

describe('Sightings', () => {
  it('confirms a value on a later look, never on its first, and starts over when it changes', () => {
    const s = new Sightings(0);
    expect(s.confirmed('a', 'v1')).toBe(false);
    expect(s.confirmed('a', 'v1')).toBe(true);
    expect(s.confirmed('a', 'v1')).toBe(true); // kept: a sweep that failed to act confirms again
    expect(s.confirmed('a', 'v2')).toBe(false); // renewed: a live holder
    expect(s.confirmed('a', 'v2')).toBe(true);
  });

  it('does not confirm a value before its wait (per instance, or per look)', () => {
    const s = new Sightings(60_000);
    expect(s.confirmed('a', 'v')).toBe(false);
    expect(s.confirmed('a', 'v')).toBe(false);
    expect(s.confirmed('a', 'v', 0)).toBe(true);
  });

  it('confirmedOnce forgets what it confirmed, so the next look starts a new count', () => {
    const s = new Sightings(0);
    expect(s.confirmedOnce('a', 'v')).toBe(false);
    expect(s.confirmedOnce('a', 'v')).toBe(true);
    expect(s.confirmedOnce('a', 'v')).toBe(false);
  });

  it('keepOnly forgets keys no longer seen; past max every key is forgotten', () => {
    const s = new Sightings(0, 2);
    s.confirmed('a', 'v');
    s.confirmed('b', 'v');
    s.keepOnly(new Set(['a']));
    expect(s.confirmed('b', 'v')).toBe(false); // forgotten: a first sighting again
    expect(s.confirmed('a', 'v')).toBe(true);
    s.confirmed('c', 'v'); // a third key: over max, all forgotten first
    expect(s.confirmed('a', 'v')).toBe(false);
  });
});
