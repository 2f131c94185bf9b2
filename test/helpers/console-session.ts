import { createUser } from '../../src/console-auth/users.js';
import type { TestServer } from './server.js';

/** A signed-in console user: the cookie to send back and the CSRF token unsafe requests need. */
export interface ConsoleSession {
  email: string;
  accountId: string;
  /** `lavendly_session=<token>`, ready for a Cookie header. */
  cookie: string;
  csrf: string;
  /** The whole Set-Cookie line the server sent. */
  setCookie: string;
}

/** Creates a user for `accountId` (straight in the database) and signs in over HTTP. */
export async function signedInUser(s: TestServer, accountId: string, email: string, password = 'correct horse battery'): Promise<ConsoleSession> {
  await createUser(s.fresh.db, { accountId, email, password });
  return signIn(s.origin, email, password);
}

export async function signIn(origin: string, email: string, password: string): Promise<ConsoleSession> {
  const res = await fetch(`${origin}/auth/sign-in`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ email, password }),
  });
  const body = await res.json() as any;
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(body)}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { email: body.email, accountId: body.account_id, csrf: body.csrf_token, cookie: setCookie.split(';')[0]!, setCookie };
}

/** fetch with the session: cookie always, the CSRF token unless `csrf: false`, Origin as given (default: the server's own). */
export async function sessionCall(
  session: ConsoleSession, url: string,
  init: { method?: string; body?: unknown; csrf?: boolean | string; origin?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: any }> {
  const target = new URL(url);
  const headers: Record<string, string> = { cookie: session.cookie, ...init.headers };
  if (init.origin !== null) headers.origin = init.origin ?? target.origin;
  if (init.csrf !== false) headers['x-csrf-token'] = typeof init.csrf === 'string' ? init.csrf : session.csrf;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body });
  const text = await res.text();
  let json: any = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, headers: res.headers, json };
}
