import type http from 'node:http';

/**
 * A signal aborted when the caller hangs up before its answer is sent. The response, not the
 * request, is watched: a request whose body has been read is complete and closes at once, while
 * the response closes early only when the connection is gone. `done` stops watching.
 */
export function callerGone(res: http.ServerResponse): { signal: AbortSignal; done(): void } {
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort(new Error('the client went away before the answer'));
  };
  res.once('close', onClose);
  return { signal: abort.signal, done: () => res.off('close', onClose) };
}

/**
 * A signal that ends a wait (a `wait_s` long-poll): the caller hung up (an MCP client cancelled
 * its tool call), or the server began shutting down, when a wait answers with what it has
 * rather than hold the drain past its grace period and lose its connection.
 */
export function waitEnds(koa: { res: http.ServerResponse; app: object }): { signal: AbortSignal; done(): void } {
  const gone = callerGone(koa.res);
  const stopping = (koa.app as { stopping?: AbortController }).stopping?.signal;
  return { signal: stopping ? AbortSignal.any([gone.signal, stopping]) : gone.signal, done: gone.done };
}
