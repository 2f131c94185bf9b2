import dns from 'node:dns/promises';
import net from 'node:net';

/**
 * Which addresses a webhook may be sent to. Webhook URLs come from customers, so by default only
 * public unicast addresses pass: no loopback, private, link-local (cloud metadata), CGNAT,
 * multicast or reserved ranges. Tests that run a receiver on 127.0.0.1 opt in explicitly.
 */
export interface AddressPolicy {
  allowLoopback?: boolean;
  allowPrivate?: boolean;
}

export class AddressRefusedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'AddressRefusedError';
  }
}

const loopback = new net.BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

const privateRanges = new net.BlockList();
for (const [a, p] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) privateRanges.addSubnet(a, p, 'ipv4');
privateRanges.addSubnet('fc00::', 7, 'ipv6');

// Never reachable as a webhook, whatever the policy says.
const reserved = new net.BlockList();
for (const [a, p] of [
  ['0.0.0.0', 8], ['100.64.0.0', 10], ['169.254.0.0', 16], ['192.0.0.0', 24], ['192.0.2.0', 24],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) reserved.addSubnet(a, p, 'ipv4');
for (const [a, p] of [
  ['::', 128], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32], ['64:ff9b::', 96], ['64:ff9b:1::', 48],
  ['2002::', 16], ['2001::', 32], ['100::', 64],
] as const) reserved.addSubnet(a, p, 'ipv6');

/** Why `address` is refused under `policy`, or null when it may be used. */
export function refusalFor(address: string, policy: AddressPolicy = {}): string | null {
  const family = net.isIP(address);
  if (family === 0) return `'${address}' is not an IP address`;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (loopback.check(address, type)) return policy.allowLoopback ? null : `${address} is a loopback address`;
  if (privateRanges.check(address, type)) return policy.allowPrivate ? null : `${address} is a private address`;
  if (reserved.check(address, type)) return `${address} is a link-local, shared or reserved address`;
  return null;
}

export interface ResolvedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/** Checks the URL's shape; throws AddressRefusedError with a reason a customer can act on. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AddressRefusedError('the URL is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AddressRefusedError('the URL must use http or https');
  if (url.username || url.password) throw new AddressRefusedError('the URL must not carry credentials');
  if (!url.hostname) throw new AddressRefusedError('the URL has no host');
  return url;
}

/**
 * Resolves the URL's host and returns the address to connect to. Every resolved address must pass
 * (a name that resolves to one public and one internal address is refused), and the caller pins the
 * connection to the returned address, so a second DNS answer cannot redirect it (rebinding).
 */
export async function resolveWebhookTarget(raw: string, policy: AddressPolicy = {}): Promise<ResolvedTarget> {
  const url = parseWebhookUrl(raw);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let answers: { address: string; family: number }[];
  if (net.isIP(host)) {
    answers = [{ address: host, family: net.isIP(host) }];
  } else {
    try {
      answers = await dns.lookup(host, { all: true, verbatim: true });
    } catch (err) {
      throw new AddressRefusedError(`the host '${host}' does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (answers.length === 0) throw new AddressRefusedError(`the host '${host}' does not resolve`);
  for (const a of answers) {
    const why = refusalFor(a.address, policy);
    if (why) throw new AddressRefusedError(`the host '${host}' resolves to a refused address: ${why}`);
  }
  const first = answers[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
