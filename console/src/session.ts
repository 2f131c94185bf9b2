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

/**
 * Why the first session check could not tell (the server unreachable or failing), else null.
 * Only a 401 means signed out: sending a signed-in person to the sign-in page because the network
 * blinked would make them sign in again for nothing, or think they had been signed out.
 */
export const sessionCheckFailed = signal<string | null>(null);

export async function loadSession(): Promise<Session | null | undefined> {
  sessionCheckFailed.set(null);
  try {
    return adopt((await jsonCall<Session>('GET', '/auth/session')).body);
  } catch (err) {
    if ((err as { status?: number }).status === 401) return adopt(null);
    sessionCheckFailed.set(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

export async function signIn(email: string, password: string): Promise<Session> {
  return adopt((await jsonCall<Session>('POST', '/auth/sign-in', { email, password })).body)!;
}

/**
 * Ends the session on the server. When the server cannot be reached (or fails) the person stays
 * signed in and the call throws: showing the sign-in page while the session still lives would
 * tell someone at a shared computer they are out when the next visitor is still in.
 */
export async function signOut(): Promise<void> {
  try {
    await jsonCall('POST', '/auth/sign-out');
  } catch (err) {
    if ((err as { status?: number }).status !== 401) throw err;
  }
  // Signed out on a shared computer: the next person sees none of this one's files.
  const me = session.get();
  if (me) localStorage.removeItem(recentUploadsKey(me));
  localStorage.removeItem('lavendly.recentUploads'); // the shared list earlier versions kept
  adopt(null);
}

/** Where this browser remembers the person's recent uploads (asset ids, names, signed links). */
export function recentUploadsKey(s: Session): string {
  return `lavendly.recentUploads:${s.account_id}:${s.email}`;
}

/** A 401 from the API: the session expired or was signed out elsewhere. */
export function sessionEnded(): void {
  if (session.get()) adopt(null);
}
