/**
 * Download a URL given by a user without letting it reach anything internal.
 *
 * - Only http and https; the URL and every redirect hop are vetted by the address policy.
 * - DNS is resolved here, every answer is checked, and the connection is then made to the checked
 *   address itself (a pinned `lookup` on the request), so an answer that changes between the check
 *   and the connect (DNS rebinding) cannot steer the request elsewhere. The socket's remote address
 *   is verified again on connect.
 * - Redirects are followed by hand, at most `maxRedirects` hops, each re-resolved and re-checked.
 * - The size limit is enforced while streaming, whatever Content-Length says; a Content-Length over
 *   the limit is refused before the body is read. An overall deadline and an idle timeout stop
 *   endless or stalled bodies.
 * - The body goes to a temporary file renamed onto `destPath` only on success; any failure leaves
 *   no file behind.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { AddressNotAllowedError, checkAddress, checkUrl, type AddressPolicy, type UrlTarget } from './address-policy.js';
import { TransferError, writeLimited } from './limited-write.js';
import { pinnedLookup } from './pinned-lookup.js';

interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has. Injectable for tests; defaults to the OS resolver. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = async (hostname) => {
  const answers = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export interface SafeDownloadOptions {
  /** Where the body ends up (created only on success). */
  destPath: string;
  /** Hard limit on the body, enforced while streaming. */
  maxBytes: number;
  /** Exceptions to the address policy (tests). Default: public addresses only. */
  allowedPolicy?: AddressPolicy;
  /** Overall deadline for the whole download, redirects included (default 60 s). */
  timeoutMs?: number;
  /** Longest silence allowed while waiting for headers or body bytes (default 15 s). */
  idleTimeoutMs?: number;
  /** At most this many redirects are followed (default 5). */
  maxRedirects?: number;
  /** Whether a redirect may go to this URL (on top of the address policy); default: any. */
  allowRedirect?: (url: URL) => boolean;
  /** DNS resolver (default: the OS resolver, all addresses). */
  resolve?: Resolver;
  /** Caller's abort signal. */
  signal?: AbortSignal;
  /** Extra request headers (no Host, no Cookie: the request is ours). */
  headers?: Record<string, string>;
  /** Extra trusted CA certificates for https (tests with a self-signed server). */
  ca?: string | Buffer;
  /**
   * Called once the final response's headers arrived, before the body is read; throw to refuse
   * (e.g. to turn a too-big Content-Length into a quota error). `declaredBytes` is null when absent.
   */
  onResponse?: (info: { url: string; status: number; contentType: string | null; declaredBytes: number | null }) => void;
  /** Passed to writeLimited: a budget check per chunk and an early look at the first bytes. What they throw is rethrown as is. */
  admit?: (bytes: number) => void;
  onHead?: (head: Buffer) => void;
}

export interface SafeDownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** The first bytes of the body, for content sniffing. */
  head: Buffer;
  /** The URL whose response was saved (after redirects). */
  finalUrl: string;
  /** The address that was connected to for the final hop. */
  address: string;
  /** Declared by the server; not to be trusted (sniff `head`). */
  contentType: string | null;
  redirects: string[];
}

export type SafeFetchFailure =
  | 'url_not_allowed'
  | 'dns_failed'
  | 'too_many_redirects'
  | 'bad_redirect'
  | 'http_status'
  | 'too_large'
  | 'timeout'
  | 'idle_timeout'
  | 'aborted'
  | 'network'
  | 'io_error';

export class SafeFetchError extends Error {
  constructor(
    readonly reason: SafeFetchFailure,
    message: string,
    readonly detail: {
      url?: string;
      status?: number;
      maxBytes?: number;
      declaredBytes?: number;
      receivedBytes?: number;
      address?: string;
      range?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.name = 'SafeFetchError';
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

interface Hop {
  target: UrlTarget;
  address: string;
  family: 4 | 6;
}

/** Vet one URL: policy on the URL, then DNS with every answer checked. */
async function resolveHop(input: string | URL, policy: AddressPolicy, resolve: Resolver): Promise<Hop> {
  let target: UrlTarget;
  try {
    target = checkUrl(input, policy);
  } catch (err) {
    if (err instanceof AddressNotAllowedError) {
      throw new SafeFetchError('url_not_allowed', err.message, { url: err.detail.url ?? String(input), address: err.detail.address, range: err.detail.range, cause: err });
    }
    throw err;
  }
  if (target.literal) {
    return { target, address: target.literal, family: isIP(target.literal) === 6 ? 6 : 4 };
  }
  let answers: ResolvedAddress[];
  try {
    answers = await resolve(target.host);
  } catch (err) {
    throw new SafeFetchError('dns_failed', `Could not resolve ${target.host}.`, { url: target.url.href, cause: err });
  }
  if (answers.length === 0) throw new SafeFetchError('dns_failed', `${target.host} has no address.`, { url: target.url.href });
  // Every answer must be public: a name that also points inside is refused outright, so which
  // record a client would pick cannot matter.
  let first: Hop | null = null;
  for (const answer of answers) {
    const verdict = checkAddress(answer.address, policy, target.port);
    if (!verdict.allowed) {
      throw new SafeFetchError('url_not_allowed', `${target.host} resolves to ${verdict.address}, which is internal (${verdict.range}) and may not be contacted.`, {
        url: target.url.href, address: verdict.address, range: verdict.range,
      });
    }
    first ??= { target, address: verdict.address, family: verdict.family };
  }
  return first!;
}

function requestHop(hop: Hop, headers: Record<string, string>, signal: AbortSignal, ca?: string | Buffer): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const { url } = hop.target;
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(
      {
        protocol: url.protocol,
        // The name (not the address) stays the host so Host and TLS SNI / certificate checks are
        // right; the pinned lookup makes the socket go to the checked address only.
        hostname: hop.target.literal ? hop.address : hop.target.host,
        port: hop.target.port,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { 'user-agent': 'Lavendly-Importer/1', accept: '*/*', 'accept-encoding': 'identity', ...headers },
        lookup: pinnedLookup(hop.address, hop.family),
        family: hop.family,
        agent: false, // a fresh socket per hop: no pooled connection to another address is reused
        signal,
        servername: hop.target.literal ? undefined : hop.target.host,
        ...(ca ? { ca } : {}),
      },
      (res) => resolve({ res, req }),
    );
    req.on('socket', (socket) => {
      socket.once('connect', () => {
        const remote = socket.remoteAddress ?? '';
        const normalise = (a: string) => (isIP(a) === 6 ? new URL(`http://[${a}]/`).hostname.slice(1, -1) : a);
        if (normalise(remote) !== hop.address) {
          req.destroy(new SafeFetchError('url_not_allowed', `Connected to ${remote}, not the checked address ${hop.address}.`, { url: url.href, address: remote }));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export async function safeDownload(input: string | URL, options: SafeDownloadOptions): Promise<SafeDownloadResult> {
  const policy = options.allowedPolicy ?? {};
  const resolve = options.resolve ?? systemResolver;
  const maxRedirects = options.maxRedirects ?? 5;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
  const { maxBytes } = options;

  const controller = new AbortController();
  const deadline = setTimeout(() => {
    controller.abort(new SafeFetchError('timeout', `The download did not finish within ${timeoutMs} ms.`, { url: String(input) }));
  }, timeoutMs);
  const onOuterAbort = () => controller.abort(new SafeFetchError('aborted', 'The download was aborted.', { url: String(input), cause: options.signal?.reason }));
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;

  const redirects: string[] = [];
  let current: string | URL = input;
  try {
    for (let hopIndex = 0; ; hopIndex++) {
      const hop = await resolveHop(current, policy, resolve);
      if (signal.aborted) throw signal.reason;
      // Headers must arrive within the idle timeout too.
      const headerTimer = setTimeout(() => {
        controller.abort(new SafeFetchError('idle_timeout', `No response within ${idleTimeoutMs} ms.`, { url: hop.target.url.href }));
      }, idleTimeoutMs);
      let res: http.IncomingMessage;
      try {
        ({ res } = await requestHop(hop, options.headers ?? {}, signal, options.ca));
      } finally {
        clearTimeout(headerTimer);
      }
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        res.destroy();
        const location = res.headers.location;
        if (!location) throw new SafeFetchError('bad_redirect', `Redirect ${status} without a Location header.`, { url: hop.target.url.href, status });
        if (hopIndex >= maxRedirects) {
          throw new SafeFetchError('too_many_redirects', `More than ${maxRedirects} redirects.`, { url: hop.target.url.href });
        }
        let next: URL;
        try {
          next = new URL(location, hop.target.url);
        } catch {
          throw new SafeFetchError('bad_redirect', `Redirect to an invalid URL: ${location}`, { url: hop.target.url.href, status });
        }
        if (options.allowRedirect && !options.allowRedirect(next)) {
          throw new SafeFetchError('bad_redirect', `Redirect to ${next.protocol}//${next.host}, which this download may not go to.`, { url: hop.target.url.href, status });
        }
        redirects.push(next.href);
        current = next;
        continue;
      }
      if (status < 200 || status > 299) {
        res.destroy();
        throw new SafeFetchError('http_status', `The server answered ${status}.`, { url: hop.target.url.href, status });
      }
      const lengthHeader = res.headers['content-length'];
      const declaredBytes = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
      const contentType = res.headers['content-type'] ?? null;
      if (declaredBytes !== null && declaredBytes > maxBytes) {
        res.destroy();
        throw new SafeFetchError('too_large', `The file is ${declaredBytes} bytes; the limit is ${maxBytes}.`, {
          url: hop.target.url.href, maxBytes, declaredBytes,
        });
      }
      try {
        options.onResponse?.({ url: hop.target.url.href, status, contentType, declaredBytes });
      } catch (err) {
        res.destroy();
        throw err;
      }
      const written = await writeLimited(res, options.destPath, { maxBytes, idleTimeoutMs, signal, admit: options.admit, onHead: options.onHead });
      return {
        path: written.path,
        bytes: written.bytes,
        sha256: written.sha256,
        head: written.head,
        finalUrl: hop.target.url.href,
        address: hop.address,
        contentType,
        redirects,
      };
    }
  } catch (err) {
    throw toSafeFetchError(err, signal, String(current), maxBytes);
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

function toSafeFetchError(err: unknown, signal: AbortSignal, url: string, maxBytes: number): unknown {
  if (err instanceof SafeFetchError) return err;
  if (err instanceof TransferError) {
    const cause = err.cause;
    if (err.reason === 'aborted' && cause instanceof SafeFetchError) return cause;
    if (err.reason === 'refused') return err.detail.cause; // the caller's own refusal
    if (err.reason === 'too_large') {
      return new SafeFetchError('too_large', `The file exceeds the limit of ${maxBytes} bytes.`, { url, maxBytes, receivedBytes: err.detail.receivedBytes, cause: err });
    }
    const reason = err.reason === 'source_error' ? 'network' : err.reason === 'idle_timeout' ? 'idle_timeout' : err.reason === 'io_error' ? 'io_error' : 'aborted';
    return new SafeFetchError(reason, err.message, { url, receivedBytes: err.detail.receivedBytes, cause: err });
  }
  if (signal.aborted && signal.reason instanceof SafeFetchError) return signal.reason;
  if (err && typeof err === 'object' && 'cause' in err && err.cause instanceof SafeFetchError) return err.cause;
  return new SafeFetchError('network', `The download failed: ${(err as Error)?.message ?? String(err)}`, { url, cause: err });
}
