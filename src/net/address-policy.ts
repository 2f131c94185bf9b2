/**
 * Which network addresses the server may contact on a user's behalf (server-side request forgery
 * defence).
 *
 * Only public unicast addresses pass. Everything internal is refused: loopback, private, link-local
 * (including the 169.254.169.254 cloud metadata service), unspecified, CGNAT, multicast, broadcast,
 * reserved, benchmarking and documentation ranges, and the IPv6 forms that embed an IPv4 address
 * (IPv4-mapped, IPv4-compatible, NAT64, 6to4) whenever the embedded address is itself refused.
 *
 * Host parsing is delegated to the WHATWG URL parser (the same one `fetch` and `new URL` use), which
 * normalises every IPv4 spelling (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`, percent
 * escapes) to dotted quad and every IPv6 spelling to its compressed form; the result is then
 * classified with `node:net` (`isIP`, `BlockList`). Nothing here ever re-parses a host by hand.
 */
import { BlockList, isIP } from 'node:net';

export interface AddressPolicy {
  /**
   * Allow loopback addresses (127.0.0.0/8, ::1) everywhere. For tests only; never on by default.
   * Prefer `allowEndpoints`, which opens exactly one test server and nothing else.
   */
  allowLoopback?: boolean;
  /**
   * Exact endpoints that may be contacted although their address is internal, written
   * `ip:port` or `[ipv6]:port` (e.g. `127.0.0.1:43121`). Matched against the address actually
   * connected to and its port, after DNS, so a redirect to another port or host is still refused.
   */
  allowEndpoints?: string[];
}

/** Why a URL or address was refused; `code` is stable and machine-readable. */
export class AddressNotAllowedError extends Error {
  constructor(
    readonly reason:
      | 'invalid_url'
      | 'scheme_not_allowed'
      | 'credentials_not_allowed'
      | 'hostname_not_allowed'
      | 'port_not_allowed'
      | 'address_not_allowed',
    message: string,
    readonly detail: { url?: string; host?: string; address?: string; range?: string } = {},
  ) {
    super(message);
    this.name = 'AddressNotAllowedError';
  }
}

interface Range {
  /** Human-readable name of the range, reported as `range` when an address falls in it. */
  name: string;
  list: BlockList;
}

function range(name: string, cidrs: string[], family: 'ipv4' | 'ipv6'): Range {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.split('/') as [string, string];
    list.addSubnet(net, Number(bits), family);
  }
  return { name, list };
}

// Loopback is its own entry so that `allowLoopback` can lift exactly it.
const V4_LOOPBACK = range('loopback', ['127.0.0.0/8'], 'ipv4');
const V4_REFUSED: Range[] = [
  range('unspecified', ['0.0.0.0/8'], 'ipv4'),
  range('private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], 'ipv4'),
  range('cgnat', ['100.64.0.0/10'], 'ipv4'),
  range('link-local', ['169.254.0.0/16'], 'ipv4'),
  range('reserved', ['192.0.0.0/24', '192.88.99.0/24', '240.0.0.0/4'], 'ipv4'), // 240/4 includes 255.255.255.255
  range('documentation', ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'], 'ipv4'),
  range('benchmarking', ['198.18.0.0/15'], 'ipv4'),
  range('multicast', ['224.0.0.0/4'], 'ipv4'),
];

const V6_LOOPBACK = range('loopback', ['::1/128'], 'ipv6');
const V6_REFUSED: Range[] = [
  range('unspecified', ['::/128'], 'ipv6'),
  range('unique-local', ['fc00::/7'], 'ipv6'),
  range('link-local', ['fe80::/10'], 'ipv6'),
  range('site-local', ['fec0::/10'], 'ipv6'),
  range('multicast', ['ff00::/8'], 'ipv6'),
  range('documentation', ['2001:db8::/32', '3fff::/20'], 'ipv6'),
  // IETF protocol assignments: Teredo (2001::/32), benchmarking (2001:2::/48), ORCHID, ...
  range('reserved', ['2001::/23', '100::/64', '64:ff9b:1::/48'], 'ipv6'),
];
/** Only global unicast (2000::/3) is public IPv6; everything outside it is reserved or special. */
const V6_GLOBAL_UNICAST = range('global-unicast', ['2000::/3'], 'ipv6');

/** IPv6 prefixes whose last (or given) 32 bits carry an IPv4 address that must be judged instead. */
const V6_EMBEDDING: { name: string; range: Range; offset: number; judgeEmbedded: boolean }[] = [
  { name: 'ipv4-mapped', range: range('ipv4-mapped', ['::ffff:0:0/96'], 'ipv6'), offset: 12, judgeEmbedded: true },
  { name: 'nat64', range: range('nat64', ['64:ff9b::/96'], 'ipv6'), offset: 12, judgeEmbedded: true },
  { name: '6to4', range: range('6to4', ['2002::/16'], 'ipv6'), offset: 2, judgeEmbedded: true },
  // Deprecated forms with no legitimate use today: refused whatever they embed.
  { name: 'ipv4-translated', range: range('ipv4-translated', ['::ffff:0:0:0/96'], 'ipv6'), offset: 12, judgeEmbedded: false },
  { name: 'ipv4-compatible', range: range('ipv4-compatible', ['::/96'], 'ipv6'), offset: 12, judgeEmbedded: false },
];

export type AddressVerdict =
  | { allowed: true; address: string; family: 4 | 6 }
  | { allowed: false; address: string; family: 4 | 6 | 0; range: string };

/** Strip the brackets the URL syntax puts around IPv6 literals. */
function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The 16 bytes of an IPv6 address already validated by `isIP`. */
function ipv6Bytes(address: string): Uint8Array {
  let text = address.toLowerCase();
  const bytes = new Uint8Array(16);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const headParts = head ? head.split(':') : [];
  const restParts = rest === null ? [] : rest ? rest.split(':') : [];
  const zeros = 8 - headParts.length - restParts.length;
  const parts = [...headParts, ...Array<string>(rest === null ? 0 : zeros).fill('0'), ...restParts];
  parts.forEach((part, i) => {
    const value = parseInt(part, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

function classifyV4(address: string, policy: AddressPolicy): string | null {
  if (V4_LOOPBACK.list.check(address, 'ipv4')) return policy.allowLoopback ? null : 'loopback';
  for (const r of V4_REFUSED) if (r.list.check(address, 'ipv4')) return r.name;
  return null;
}

function classifyV6(address: string, policy: AddressPolicy): string | null {
  if (V6_LOOPBACK.list.check(address, 'ipv6')) return policy.allowLoopback ? null : 'loopback';
  for (const r of V6_REFUSED) if (r.list.check(address, 'ipv6')) return r.name;
  for (const e of V6_EMBEDDING) {
    if (!e.range.list.check(address, 'ipv6')) continue;
    if (!e.judgeEmbedded) return e.name;
    const b = ipv6Bytes(address);
    const v4 = `${b[e.offset]}.${b[e.offset + 1]}.${b[e.offset + 2]}.${b[e.offset + 3]}`;
    // Even with allowLoopback, an embedded loopback stays refused: tests never need it.
    const inner = classifyV4(v4, {});
    return inner ? `${e.name} ${inner}` : null;
  }
  if (!V6_GLOBAL_UNICAST.list.check(address, 'ipv6')) return 'reserved';
  return null;
}

function endpointKey(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Canonical form of an `allowEndpoints` entry (IPv6 compressed and lower-cased). */
function canonicalEndpoint(entry: string): string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(entry) ?? /^([^:]+):(\d+)$/.exec(entry);
  if (!m) throw new Error(`allowEndpoints entry must be ip:port or [ipv6]:port, got '${entry}'`);
  const host = new URL(`http://${isIP(m[1]!) === 6 ? `[${m[1]}]` : m[1]}/`).hostname;
  return endpointKey(unbracket(host), Number(m[2]));
}

/**
 * Whether `address` (an IP literal, as returned by DNS or a URL parser) may be contacted.
 * `port` is needed only to honour `allowEndpoints`.
 */
export function checkAddress(address: string, policy: AddressPolicy = {}, port?: number): AddressVerdict {
  const ip = unbracket(address);
  const family = isIP(ip) as 0 | 4 | 6;
  if (family === 0) return { allowed: false, address: ip, family: 0, range: 'not-an-ip' };
  const normalised = family === 6 ? unbracket(new URL(`http://[${ip}]/`).hostname) : ip;
  if (port !== undefined && policy.allowEndpoints?.length) {
    const key = endpointKey(normalised, port);
    if (policy.allowEndpoints.some((e) => canonicalEndpoint(e) === key)) {
      return { allowed: true, address: normalised, family };
    }
  }
  const refused = family === 4 ? classifyV4(normalised, policy) : classifyV6(normalised, policy);
  return refused
    ? { allowed: false, address: normalised, family, range: refused }
    : { allowed: true, address: normalised, family };
}

export interface UrlTarget {
  url: URL;
  /** Host without IPv6 brackets, normalised by the URL parser (lower case, IPv4 as dotted quad). */
  host: string;
  port: number;
  /** The host when it is an IP literal, else null (needs DNS). */
  literal: string | null;
}

/** Names that always mean this machine or the local network, whatever DNS says (RFC 6761, 8375). */
function isLocalName(host: string): boolean {
  const h = host.replace(/\.+$/, '');
  return (
    h === '' ||
    h === 'localhost' || h.endsWith('.localhost') ||
    h === 'localhost.localdomain' ||
    h.endsWith('.local') || h.endsWith('.internal') || h.endsWith('.home.arpa') ||
    h === 'ip6-localhost' || h === 'ip6-loopback' ||
    !h.includes('.') // single-label names resolve through the local search domain
  );
}

/**
 * Parse and vet a URL before any network activity: scheme http(s) only, no credentials, no port 0,
 * no local host names, and an IP-literal host must pass `checkAddress`. Host names still need DNS, whose
 * every answer is vetted by the caller (see safe-fetch).
 */
export function checkUrl(input: string | URL, policy: AddressPolicy = {}): UrlTarget {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new AddressNotAllowedError('invalid_url', 'The URL is not valid.', { url: String(input) });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AddressNotAllowedError('scheme_not_allowed', `Only http and https URLs are allowed (got ${url.protocol}).`, { url: url.href });
  }
  if (url.username || url.password) {
    throw new AddressNotAllowedError('credentials_not_allowed', 'URLs with embedded credentials are not allowed.', { url: url.href });
  }
  // Port 0 is not a port one can connect to: node's client quietly goes to the scheme's default
  // port instead, so the `allowEndpoints` match (on port 0) and the connection would disagree.
  if (url.port === '0') {
    throw new AddressNotAllowedError('port_not_allowed', 'Port 0 cannot be contacted.', { url: url.href });
  }
  const host = unbracket(url.hostname);
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  if (isIP(host)) {
    const verdict = checkAddress(host, policy, port);
    if (!verdict.allowed) {
      throw new AddressNotAllowedError('address_not_allowed', `The address ${verdict.address} is internal (${verdict.range}) and may not be contacted.`, {
        url: url.href, host, address: verdict.address, range: verdict.range,
      });
    }
    return { url, host: verdict.address, port, literal: verdict.address };
  }
  if (isLocalName(host)) {
    throw new AddressNotAllowedError('hostname_not_allowed', `The host name '${host}' is local and may not be contacted.`, { url: url.href, host });
  }
  return { url, host, port, literal: null };
}
