/**
 * Node's error codes for a peer that could not be reached or went away mid-exchange: refused,
 * reset (`socket hang up` is ECONNRESET), timed out, unroutable, a name that did not resolve, or a
 * stream that ended early. Shared by the database and the media store, which both turn them into
 * "unavailable, try again" rather than a fault of the request.
 */
const SOCKET_FAILURES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENOTFOUND', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE',
]);

export function isSocketFailure(code: string): boolean {
  return SOCKET_FAILURES.has(code);
}
