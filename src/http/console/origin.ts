import type Koa from 'koa';

/**
 * Whether a browser request comes from a page of another site. Cookie-authenticated requests must
 * come from the console itself, i.e. this server's own origin (as the request reached it, or as
 * LAVENDLY_PUBLIC_URL names it). `Origin` decides when present (`null` counts as foreign);
 * otherwise `Sec-Fetch-Site: cross-site` does. Requests with neither (curl, old browsers on GET)
 * pass: SameSite=Lax keeps the cookie off cross-site POSTs anyway.
 */
export function fromForeignOrigin(ctx: Koa.Context, publicBaseUrl: string): boolean {
  const origin = ctx.get('origin');
  // Not ctx.origin: since Koa 3 that is the Origin header itself.
  if (origin) return origin !== `${ctx.protocol}://${ctx.host}` && origin !== originOf(publicBaseUrl);
  return ctx.get('sec-fetch-site') === 'cross-site';
}

const origins = new Map<string, string | null>();
function originOf(url: string): string | null {
  let o = origins.get(url);
  if (o === undefined) {
    try {
      o = new URL(url).origin;
    } catch {
      o = null;
    }
    origins.set(url, o);
  }
  return o;
}
