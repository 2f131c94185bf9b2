import { monotonicNow } from '../db/cluster-time.js';

/**
 * The time limits of one provider request, from the call until its body has been read.
 *
 * Why not `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: on Node 20 the composite holds its
 * sources weakly and a timeout signal nobody else references can be garbage-collected together
 * with its timer, so after a GC the timeout silently never fires and a stalled answer hangs the
 * scene forever. Here the timers are ordinary `setTimeout`s (rooted by the event loop until
 * cleared) whose closures hold the controller, so nothing the request needs can be collected
 * while it runs.
 *
 * Three limits, each aborting with a `RequestTimeout` naming which one fired:
 * - `total`: headers and body of a JSON answer within the client's per-request timeout;
 * - `idle`: a download's body may take as long as it needs while bytes keep arriving;
 * - `deadline`: the remote task's deadline (LAVENDLY_PROVIDER_DEADLINE_S) bounds a request in
 *   flight too, not only the waits between polls.
 */
export type TimeoutKind = 'total' | 'idle' | 'deadline';

export class RequestTimeout extends Error {
  constructor(readonly kind: TimeoutKind, message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

export class RequestGuard {
  private readonly controller = new AbortController();
  private limit: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private readonly onOuterAbort = () => this.controller.abort(this.outer?.reason);

  constructor(private readonly outer: AbortSignal | undefined, totalMs: number, deadlineAt?: number) {
    if (outer?.aborted) this.onOuterAbort();
    else outer?.addEventListener('abort', this.onOuterAbort, { once: true });
    this.arm('total', totalMs);
    if (deadlineAt !== undefined) {
      this.deadline = setTimeout(() => this.abort('deadline', 'the task\'s deadline passed while a request was in flight'), Math.max(0, deadlineAt - monotonicNow()));
    }
  }

  /** What the request (and its body stream) listens to. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The limit that fired, if one did. */
  get fired(): RequestTimeout | null {
    const r: unknown = this.controller.signal.reason;
    return r instanceof RequestTimeout ? r : null;
  }

  /** (Re)starts the per-request limit: `total` once, `idle` again whenever bytes arrive. */
  arm(kind: 'total' | 'idle', ms: number): void {
    clearTimeout(this.limit);
    this.limit = setTimeout(() => this.abort(kind, kind === 'idle' ? `no bytes arrived for ${ms} ms` : `no complete answer within ${ms} ms`), ms);
  }

  private abort(kind: TimeoutKind, message: string): void {
    this.controller.abort(new RequestTimeout(kind, message));
  }

  /** The request is over (answered, failed or handed back): no limit may fire any more. */
  done(): void {
    clearTimeout(this.limit);
    clearTimeout(this.deadline);
    this.outer?.removeEventListener('abort', this.onOuterAbort);
  }
}
