/**
 * Fetching a result from a URL the provider handed out. Such a URL is only followed to hosts that
 * belong to that provider: its own API origin (the operator configured it; test fakes live there)
 * or the provider's documented delivery hosts (`RUNWAYML_DOWNLOAD_HOSTS`, ...), and for the latter
 * through the SSRF-safe downloader (public addresses only, pinned DNS, size limit). Our key is
 * never sent along. A redirect from the API origin is vetted the same way, and one from a
 * delivery host may only lead to another delivery host. Anything else is refused, so a compromised or confused provider answer cannot
 * steer the server to an internal address or another site.
 */
import { safeDownload, SafeFetchError } from '../net/safe-fetch.js';
import type { ProviderClient } from './http.js';
import { monotonicNow } from '../db/cluster-time.js';

export interface DeliveryOptions {
  client: ProviderClient;
  /** The provider's API base URL (its origin is trusted). */
  apiBase: string;
  /** Host names (exact) or suffixes (starting with a dot) the provider delivers from. */
  hosts: string[];
  destPath: string;
  maxBytes: number;
  signal?: AbortSignal;
  /** The task's deadline (epoch ms): the download ends by then too. */
  deadlineAt?: number;
  /** Send our key along (only the API's own content endpoint needs it; never a handed-out URL). */
  authorised?: boolean;
}

/** Redirects followed from the API origin before the delivery is refused. */
const MAX_HOPS = 3;

function hostAllowed(host: string, hosts: string[]): boolean {
  const h = host.toLowerCase();
  return hosts.some((entry) => (entry.startsWith('.') ? h.endsWith(entry) && h.length > entry.length : h === entry));
}

export async function downloadDelivery(url: unknown, o: DeliveryOptions, hops = 0): Promise<void> {
  const { client } = o;
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw client.fail(`${client.provider} answered a result URL that is not a URL`, { transient: false, retryable: true, code: 'provider_bad_response' });
  }
  const onDeliveryHost = (v: URL) => v.protocol === 'https:' && hostAllowed(v.hostname, o.hosts);
  if (u.origin === new URL(o.apiBase).origin) {
    const got = await client.download(u.href, o.destPath, o.maxBytes, { signal: o.signal, deadlineAt: o.deadlineAt, bare: !o.authorised });
    if ('bytes' in got) return;
    // A redirect is vetted like a handed-out URL: the API origin or a delivery host, nothing else.
    if (hops >= MAX_HOPS) {
      throw client.fail(`${client.provider} redirected the download more than ${MAX_HOPS} times`, { transient: false, retryable: true, code: 'provider_bad_response' });
    }
    const sameOrigin = got.redirect.origin === u.origin;
    return downloadDelivery(got.redirect.href, { ...o, authorised: o.authorised && sameOrigin }, hops + 1);
  }
  if (!onDeliveryHost(u)) {
    throw client.fail(`${client.provider} answered a result on ${u.protocol}//${u.host}, which is not one of its delivery hosts; it was not fetched`, {
      transient: false, retryable: true, code: 'provider_bad_response',
    });
  }
  try {
    // Bounded by the task's deadline and an idle limit, not by a fixed total (big clips, slow links).
    const timeoutMs = o.deadlineAt === undefined ? 30 * 60_000 : Math.max(1, o.deadlineAt - monotonicNow());
    await safeDownload(u, { destPath: o.destPath, maxBytes: o.maxBytes, signal: o.signal, timeoutMs, idleTimeoutMs: 60_000, allowRedirect: onDeliveryHost });
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason;
    const reason = err instanceof SafeFetchError ? err.reason : 'network';
    const transient = ['network', 'timeout', 'idle_timeout', 'dns_failed', 'io_error'].includes(reason)
      || (err instanceof SafeFetchError && reason === 'http_status' && (err.detail.status ?? 0) >= 500);
    throw client.fail(`downloading the result from ${u.host} failed (${reason})`, { transient, retryable: true, code: transient ? 'provider_unavailable' : 'provider_bad_response', cause: err });
  }
}
