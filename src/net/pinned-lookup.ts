import type { LookupFunction } from 'node:net';

/**
 * A `lookup` for `http.request` that answers only an already vetted address, whatever the name,
 * so the connect cannot re-resolve (DNS rebinding).
 *
 * The answer is deliberately asynchronous. Node's client creates the socket inside
 * `http.request()` and attaches the request's error listener on the next tick; a lookup that
 * answers synchronously makes the connect run at once, and a connect that fails synchronously
 * (ENETUNREACH for an address family or network this host has no route to) emits 'error' on a
 * socket nobody listens to yet: an uncaught exception that kills the process. Answering on the
 * next turn of the event loop lets the listeners exist first.
 */
export function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return ((_hostname: string, options: { all?: boolean } | undefined, callback: (...args: unknown[]) => void) => {
    setImmediate(() => {
      if (options?.all) callback(null, [{ address, family }]);
      else callback(null, address, family);
    });
  }) as unknown as LookupFunction;
}
