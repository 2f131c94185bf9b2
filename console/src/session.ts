/** The signed-in person (POST /auth/sign-in, GET /auth/session, POST /auth/sign-out). */
import { signal } from './signal.js';
import { jsonCall, useCsrfToken } from './api.js';

export interface Session {
  email: string;
  account_id: string;
  csrf_token: string;
}

/** `undefined` while the first check runs, `null` when signed out. */
export const session = signal<Session | null | undefined>(undefined);

function adopt(s: Session | null): Session | null {
  useCsrfToken(s?.csrf_token ?? null);
  session.set(s);
  return s;
}

export async function loadSession(): Promise<Session | null> {
  try {
    return adopt((await jsonCall<Session>('GET', '/auth/session')).body);
  } catch {
    return adopt(null);
  }
}

export async function signIn(email: string, password: string): Promise<Session> {
  return adopt((await jsonCall<Session>('POST', '/auth/sign-in', { email, password })).body)!;
}

export async function signOut(): Promise<void> {
  try {
    await jsonCall('POST', '/auth/sign-out');
  } finally {
    adopt(null);
  }
}

/** A 401 from the API: the session expired or was signed out elsewhere. */
export function sessionEnded(): void {
  if (session.get()) adopt(null);
}
