import type { AccountRef } from './context.js';
import { ApiError } from './errors.js';

/**
 * Operations a person must do, not a script: a console session passes; `admin` keys pass where
 * the operation allows them (key management, disconnecting a channel).
 */
export function requirePersonOrAdmin(account: AccountRef, what: string): void {
  if (account.via === 'session' || account.scopes.includes('admin')) return;
  throw new ApiError('forbidden', `${what} needs a console session or an API key with the admin scope.`, { required_scopes: ['admin'] });
}

/** Operations only a signed-in person may do (e.g. connecting a channel through its platform's consent page). */
export function requirePerson(account: AccountRef, what: string): void {
  if (account.via === 'session') return;
  throw new ApiError('forbidden', `${what} is done by a person signed in to the console; API keys cannot.`, { required_scopes: [] });
}
