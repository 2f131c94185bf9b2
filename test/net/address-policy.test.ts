import { describe, expect, it } from 'vitest';
import { AddressNotAllowedError, checkAddress, checkUrl } from '../../src/net/address-policy.js';

describe('checkAddress', () => {
  const refused: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['2001:2::1', 'reserved'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // Teredo
    ['::ffff:127.0.0.1', 'ipv4-mapped loopback'],
    ['::ffff:7f00:1', 'ipv4-mapped loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'ipv4-mapped link-local'],
    ['::ffff:10.1.2.3', 'ipv4-mapped private'],
    ['64:ff9b::127.0.0.1', 'nat64 loopback'],
    ['64:ff9b::a9fe:a9fe', 'nat64 link-local'],
    ['64:ff9b::c0a8:101', 'nat64 private'],
    ['64:ff9b:1::1', 'reserved'],
    ['2002:7f00:1::1', '6to4 loopback'],
    ['2002:a9fe:a9fe::', '6to4 link-local'],
    ['::127.0.0.1', 'ipv4-compatible'],
    ['::8.8.8.8', 'ipv4-compatible'],
    ['::ffff:0:7f00:1', 'ipv4-translated'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'], // outside global unicast 2000::/3
  ];
  it.each(refused)('refuses %s (%s)', (address, range) => {
    const verdict = checkAddress(address);
    expect(verdict.allowed).toBe(false);
    if (!verdict.allowed) expect(verdict.range).toBe(range);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.215.14', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    'allows public %s',
    (address) => {
      expect(checkAddress(address).allowed).toBe(true);
    },
  );

  it('refuses what is not an IP', () => {
    expect(checkAddress('example.com')).toMatchObject({ allowed: false, range: 'not-an-ip' });
  });

  it('allowLoopback lifts loopback only, never other internal ranges or embedded loopback', () => {
    const p = { allowLoopback: true };
    expect(checkAddress('127.0.0.1', p).allowed).toBe(true);
    expect(checkAddress('::1', p).allowed).toBe(true);
    expect(checkAddress('169.254.169.254', p).allowed).toBe(false);
    expect(checkAddress('10.0.0.1', p).allowed).toBe(false);
    expect(checkAddress('::ffff:127.0.0.1', p).allowed).toBe(false);
  });

  it('allowEndpoints opens exactly one ip:port', () => {
    const p = { allowEndpoints: ['127.0.0.1:4000', '[0:0:0:0:0:0:0:1]:4001'] };
    expect(checkAddress('127.0.0.1', p, 4000).allowed).toBe(true);
    expect(checkAddress('127.0.0.1', p, 4001).allowed).toBe(false);
    expect(checkAddress('127.0.0.2', p, 4000).allowed).toBe(false);
    expect(checkAddress('127.0.0.1', p).allowed).toBe(false); // no port, no exception
    expect(checkAddress('::1', p, 4001).allowed).toBe(true);
    expect(checkAddress('::1', p, 4000).allowed).toBe(false);
  });

  it('is off by default', () => {
    expect(checkAddress('127.0.0.1', {}, 80).allowed).toBe(false);
    expect(checkAddress('127.0.0.1', undefined, 80).allowed).toBe(false);
  });
});

describe('checkUrl', () => {
  const refusedForms = [
    'http://127.0.0.1/',
    'http://[::1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[0:0:0:0:0:ffff:127.0.0.1]/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0x7f.0x0.0x0.0x1/',
    'http://0177.0.0.1/',
    'http://017700000001/',
    'http://127.1/',
    'http://127.0.1/',
    'http://0.0.0.0/',
    'http://0/',
    'http://10.0.0.1/',
    'http://192.168.1.1/',
    'http://[fe80::1]/',
    'http://%31%32%37.0.0.1/',
    'http://127.0.0.1./',
    'https://169.254.169.254:443/',
    'http://[64:ff9b::7f00:1]/',
    'http://2852039166/', // 169.254.169.254 in decimal
  ];
  it.each(refusedForms)('refuses %s before any DNS or connection', (url) => {
    expect(() => checkUrl(url)).toThrowError(AddressNotAllowedError);
    try {
      checkUrl(url);
    } catch (err) {
      expect((err as AddressNotAllowedError).reason).toBe('address_not_allowed');
    }
  });

  it.each(['http://localhost/', 'http://LOCALHOST:8080/', 'http://localhost./', 'http://api.localhost/', 'http://intranet/', 'http://printer.local/', 'http://metadata.google.internal/'])(
    'refuses local host name %s',
    (url) => {
      expect(() => checkUrl(url)).toThrowError(expect.objectContaining({ reason: 'hostname_not_allowed' }));
    },
  );

  it.each(['file:///etc/passwd', 'ftp://example.com/a', 'gopher://example.com/', 'data:text/plain,hi', 'javascript:alert(1)'])(
    'refuses scheme of %s',
    (url) => {
      expect(() => checkUrl(url)).toThrowError(expect.objectContaining({ reason: 'scheme_not_allowed' }));
    },
  );

  it('refuses credentials and garbage', () => {
    expect(() => checkUrl('http://user:pw@example.com/')).toThrowError(expect.objectContaining({ reason: 'credentials_not_allowed' }));
    expect(() => checkUrl('not a url')).toThrowError(expect.objectContaining({ reason: 'invalid_url' }));
    // Port 0: node connects to the scheme's default port instead, so nothing could vouch for it.
    for (const url of ['http://8.8.8.8:0/x', 'https://cdn.example.com:0/', 'http://[2606:4700:4700::1111]:0/']) {
      expect(() => checkUrl(url), url).toThrowError(expect.objectContaining({ reason: 'port_not_allowed' }));
    }
    expect(() => checkUrl('http://127.0.0.1:0/x', { allowEndpoints: ['127.0.0.1:0'], allowLoopback: true }))
      .toThrowError(expect.objectContaining({ reason: 'port_not_allowed' }));
  });

  it('passes public names (to be resolved) and public literals', () => {
    expect(checkUrl('https://cdn.example.com/a.png')).toMatchObject({ host: 'cdn.example.com', port: 443, literal: null });
    expect(checkUrl('http://8.8.8.8:8080/x')).toMatchObject({ host: '8.8.8.8', port: 8080, literal: '8.8.8.8' });
    expect(checkUrl('http://[2606:4700:4700::1111]/')).toMatchObject({ literal: '2606:4700:4700::1111', port: 80 });
  });

  it('honours an exact test endpoint', () => {
    const policy = { allowEndpoints: ['127.0.0.1:5555'] };
    expect(checkUrl('http://127.0.0.1:5555/x', policy).literal).toBe('127.0.0.1');
    expect(checkUrl('http://2130706433:5555/x', policy).literal).toBe('127.0.0.1');
    expect(() => checkUrl('http://127.0.0.1:5556/x', policy)).toThrowError(AddressNotAllowedError);
    expect(() => checkUrl('http://127.0.0.1/x', policy)).toThrowError(AddressNotAllowedError);
  });
});
