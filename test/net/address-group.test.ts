import { describe, expect, it } from 'vitest';
import { addressGroup } from '../../src/net/address-group.js';

describe('addressGroup: what a per-address limit counts', () => {
  it('an IPv6 address by its /64, however it is written', () => {
    for (const a of ['2001:db8:1:2::5', '2001:DB8:0001:0002:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::', '2001:db8:1:2:0:0:0.0.0.1']) {
      expect(addressGroup(a), a).toBe('2001:db8:1:2::/64');
    }
    expect(addressGroup('2001:db8:1:3::5')).toBe('2001:db8:1:3::/64');
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
    expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('an IPv4 address as itself, also when a dual-stack listener writes it as IPv6', () => {
    expect(addressGroup('192.0.2.1')).toBe('192.0.2.1');
    expect(addressGroup('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressGroup('::FFFF:c000:0201')).toBe('192.0.2.1');
  });

  it('anything else unchanged', () => {
    expect(addressGroup('unknown')).toBe('unknown');
    expect(addressGroup('')).toBe('');
  });
});
