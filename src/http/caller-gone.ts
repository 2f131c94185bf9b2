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
