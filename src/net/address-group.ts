/**
 * The unit a per-address limit counts: one IPv4 address, or one IPv6 /64. An IPv6 client is
 * normally given a whole /64 (SLAAC, privacy addresses), so counting each address apart would
 * hand one client 2^64 fresh allowances for failed sign-ins, bad keys or client registrations.
 * An IPv4 address written as IPv6 (`::ffff:192.0.2.1`, how a dual-stack listener reports it)
 * counts as that IPv4 address.
 */
import net from 'node:net';

export function addressGroup(address: string): string {
  const plain = address.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) names an interface, not a client
  if (!net.isIPv6(plain)) return address;
  const groups = hextets(plain).map((h) => Number.parseInt(h, 16));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** The eight groups of a valid IPv6 address, `::` expanded (a trailing IPv4 part as two groups). */
function hextets(address: string): string[] {
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text = v4
    ? address.slice(0, v4.index) + [(+v4[1]! << 8) | +v4[2]!, (+v4[3]! << 8) | +v4[4]!].map((n) => n.toString(16)).join(':')
    : address;
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  if (tail === undefined) return left;
  const right = tail ? tail.split(':') : [];
  return [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
}
