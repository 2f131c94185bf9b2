/**
 * Fetching a result from a URL the provider handed out. Such a URL is only followed to hosts that
 * belong to that provider: its own API origin (the operator configured it; test fakes live there)
 * or the provider's documented delivery hosts (`RUNWAYML_DOWNLOAD_HOSTS`, ...), and for the latter
 * through the SSRF-safe downloader (public addresses only, pinned DNS, size limit). Our key is
 * never sent along. Anything else is refused, so a compromised or confused provider answer cannot
 * steer the server to an internal address or another site.
 */
import { safeDownload, SafeFetchError } from '../net/safe-fetch.js';
import type { ProviderClient } from './http.js';

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
}

function hostAllowed(host: string, hosts: string[]): boolean {
  const h = host.toLowerCase();
  return hosts.some((entry) => (entry.startsWith('.') ? h.endsWith(entry) && h.length > entry.length : h === entry));
}

export async function downloadDelivery(url: unknown, o: DeliveryOptions): Promise<void> {
  const { client } = o;
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw client.fail(`${client.provider} answered a result URL that is not a URL`, { transient: false, retryable: true, code: 'provider_bad_response' });
  }
  if (u.origin === new URL(o.apiBase).origin) {
    await client.download(u.href, o.destPath, o.maxBytes, { signal: o.signal, deadlineAt: o.deadlineAt, bare: true });
    return;
  }
  if (u.protocol !== 'https:' || !hostAllowed(u.hostname, o.hosts)) {
    throw client.fail(`${client.provider} answered a result on ${u.protocol}//${u.host}, which is not one of its delivery hosts; it was not fetched`, {
      transient: false, retryable: true, code: 'provider_bad_response',
    });
  }
  try {
    // Bounded by the task's deadline and an idle limit, not by a fixed total (big clips, slow links).
    const timeoutMs = o.deadlineAt === undefined ? 30 * 60_000 : Math.max(1, o.deadlineAt - Date.now());
    await safeDownload(u, { destPath: o.destPath, maxBytes: o.maxBytes, signal: o.signal, timeoutMs, idleTimeoutMs: 60_000 });
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason;
    const reason = err instanceof SafeFetchError ? err.reason : 'network';
    const transient = ['network', 'timeout', 'idle_timeout', 'dns_failed', 'io_error'].includes(reason)
      || (err instanceof SafeFetchError && reason === 'http_status' && (err.detail.status ?? 0) >= 500);
    throw client.fail(`downloading the result from ${u.host} failed (${reason})`, { transient, retryable: true, code: transient ? 'provider_unavailable' : 'provider_bad_response', cause: err });
  }
}
