import { toApiError } from '@lavendly/framework';

export interface ClientFault {
  status: number;
  /** Headers that belong with the error (`Allow`, `Retry-After`). */
  headers: Record<string, string>;
  /** The first issue's message when there are issues: it names the field, the summary does not. */
  message: string;
}

/**
 * A request's own fault (4xx) as the OAuth endpoints and the consent page tell it, in their own
 * format rather than the envelope; null for anything else (a 5xx, a bug), which goes on to the
 * envelope handler and the log.
 */
export function clientFault(err: unknown): ClientFault | null {
  const api = toApiError(err);
  if (!api || api.status >= 500) return null;
  const issues = Object.values((api.details.issues ?? {}) as Record<string, { message: string }[]>).flat();
  return { status: api.status, headers: api.headers, message: issues[0]?.message ?? api.message };
}
