import type Koa from 'koa';

/** The console's session cookie: HttpOnly (no script reads it), SameSite=Lax, Path=/. */
export const SESSION_COOKIE = 'lavendly_session';

/** The value of one cookie from the request's Cookie header, or undefined. */
export function readCookie(ctx: Koa.Context, name: string): string | undefined {
  const header = ctx.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}

/**
 * Whether the browser reached us over HTTPS: the request itself (or, when the app trusts its
 * proxy, X-Forwarded-Proto), or a public URL that says https (TLS ended by a proxy we do not trust
 * for headers). Cookies then carry `Secure`.
 */
export function overHttps(ctx: Koa.Context, publicBaseUrl: string): boolean {
  return ctx.protocol === 'https' || publicBaseUrl.startsWith('https:');
}

export function sessionCookie(token: string, opts: { secure: boolean; maxAgeS: number }): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${Math.floor(opts.maxAgeS)}${opts.secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(opts: { secure: boolean }): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT${opts.secure ? '; Secure' : ''}`;
}
