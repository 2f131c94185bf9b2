/**
 * The API as the console calls it: the generated SDK on this origin, authenticated by the session
 * cookie the browser sends by itself (no API key in the page), with the session's CSRF token on
 * every unsafe method. A 401 anywhere means the session ended: the app goes back to sign-in.
 */
import { Lavendly, LavendlyError } from '@lavendly/sdk';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
let csrfToken: string | null = null;
let onSignedOut: () => void = () => {};

export function useCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/** Headers an unsafe same-origin request needs besides the cookie. */
export function csrfHeaders(method: string): Record<string, string> {
  return csrfToken && UNSAFE.has(method.toUpperCase()) ? { 'X-CSRF-Token': csrfToken } : {};
}

/** fetch with the session: same-origin credentials, the CSRF header, 401 -> signed out. */
export async function sessionFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(csrfHeaders(init.method ?? 'GET'))) headers.set(k, v);
  headers.delete('user-agent'); // the SDK names itself; browsers own this header
  const res = await fetch(input, { ...init, headers, credentials: 'same-origin' });
  if (res.status === 401) onSignedOut();
  return res;
}

// Idempotency keys come from crypto.randomUUID, which only secure contexts (https, localhost) have.
if (typeof crypto.randomUUID !== 'function') {
  Object.defineProperty(crypto, 'randomUUID', {
    value: () => {
      const b = crypto.getRandomValues(new Uint8Array(16));
      b[6] = (b[6]! & 0x0f) | 0x40;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  });
}

export const api = new Lavendly({ baseUrl: `${location.origin}/v1`, fetch: sessionFetch, maxRetries: 1, timeout: 30_000 });

/** A sentence for the person, from whatever a call threw. */
export function describeError(err: unknown): string {
  if (err instanceof LavendlyError) return `${err.message} (${err.code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** How long a call outside the SDK may wait for its whole answer (the SDK's own timeout is the same). */
const JSON_CALL_TIMEOUT_MS = 30_000;

/**
 * A same-origin JSON call outside the SDK (the /auth endpoints, which are not part of the API).
 * Resolves to the parsed body; throws an Error with the envelope's message otherwise. A server or
 * proxy that never answers is given up on after 30 s: the session check would otherwise show
 * "Loading…" for good, with no way to try again.
 */
export async function jsonCall<T>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
  const init: RequestInit = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; abort.abort(); }, JSON_CALL_TIMEOUT_MS);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...csrfHeaders(method) }, credentials: 'same-origin', signal: abort.signal });
    text = await res.text();
  } catch {
    throw new Error(timedOut ? `the server did not answer within ${JSON_CALL_TIMEOUT_MS / 1000} s` : 'the server could not be reached');
  } finally {
    clearTimeout(timer);
  }
  let parsed: { error?: { message?: string; code?: string } } | undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined; // a proxy's HTML error page: the status below still says what happened
  }
  if (!res.ok) {
    const err = new Error(parsed?.error?.message ?? `${method} ${url} answered ${res.status}`) as Error & { status: number; code?: string };
    err.status = res.status;
    err.code = parsed?.error?.code;
    throw err;
  }
  return { status: res.status, body: parsed as T };
}
