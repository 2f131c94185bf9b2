import crypto from 'node:crypto';
import type { Db } from '../db/knex.js';
import { newId } from '../util/ids.js';
import { clusterNow } from '../db/cluster-time.js';

/**
 * Console sessions live on the server. The browser holds a random token (32 bytes, base64url);
 * the table keeps only its sha256, so a copy of the database signs nobody in. A session ends
 * when signed out, after `idleMs` without a request, or `absoluteMs` after sign-in, whichever
 * comes first.
 */
export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  idleMs: 7 * 24 * 3600_000,
  absoluteMs: 30 * 24 * 3600_000,
};

/**
 * Most sessions one user holds: each sign-in adds one, and a script signing in again and again
 * (or a browser that loses its cookie) would otherwise add a row per sign-in for up to
 * `absoluteMs`. Past it, the least recently started sessions are signed out.
 */
export const MAX_SESSIONS_PER_USER = 100;

/** How stale `last_seen_at` may get before a request writes it again (one write a minute, not one a request). */
const TOUCH_EVERY_MS = 60_000;

export interface ActiveSession {
  id: string;
  userId: string;
  accountId: string;
  email: string;
  /** Echoed by the browser in `X-CSRF-Token` on unsafe requests. */
  csrfToken: string;
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The CSRF token is derived from the session token (HMAC keyed by it), so it needs no column and
 * no server secret, changes with every session, and cannot be computed without the cookie.
 */
function csrfTokenFor(sessionToken: string): string {
  return crypto.createHmac('sha256', sessionToken).update('lavendly console csrf v1').digest('base64url');
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfTokenMatches(session: ActiveSession, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export async function startSession(db: Db, user: { id: string; account_id: string; email: string }, limits: SessionLimits): Promise<{ token: string; session: ActiveSession }> {
  const token = crypto.randomBytes(32).toString('base64url');
  const now = clusterNow();
  const id = newId('ses');
  await db('user_sessions').insert({
    id,
    user_id: user.id,
    token_hash: hashToken(token),
    created_at: new Date(now).toISOString(),
    last_seen_at: new Date(now).toISOString(),
    expires_at: new Date(now + limits.absoluteMs).toISOString(),
  });
  await forgetEndedSessions(db, user.id, now, limits);
  return { token, session: { id, userId: user.id, accountId: user.account_id, email: user.email, csrfToken: csrfTokenFor(token) } };
}

/**
 * At sign-in: deletes this user's sessions that ended on their own (past their limit, or idle
 * too long), then the oldest beyond MAX_SESSIONS_PER_USER.
 */
async function forgetEndedSessions(db: Db, userId: string, now: number, limits: SessionLimits): Promise<void> {
  await db('user_sessions').where({ user_id: userId })
    .andWhere((q) => q.where('expires_at', '<=', new Date(now).toISOString()).orWhere('last_seen_at', '<=', new Date(now - limits.idleMs).toISOString()))
    .delete();
  const surplus = await db('user_sessions').where({ user_id: userId })
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .offset(MAX_SESSIONS_PER_USER).limit(1000).pluck('id');
  if (surplus.length) await db('user_sessions').whereIn('id', surplus).delete();
}

/** The live session behind a token, or null (unknown, signed out, idle too long, or past its limit). */
export async function findSession(db: Db, token: string, limits: SessionLimits): Promise<ActiveSession | null> {
  if (!TOKEN_SHAPE.test(token)) return null;
  const row = await db('user_sessions as s')
    .join('users as u', 'u.id', 's.user_id')
    .where('s.token_hash', hashToken(token))
    .first('s.id', 's.user_id', 's.last_seen_at', 's.expires_at', 'u.account_id', 'u.email');
  if (!row) return null;
  const now = clusterNow();
  const lastSeen = Date.parse(row.last_seen_at);
  if (Date.parse(row.expires_at) <= now || lastSeen + limits.idleMs <= now) {
    await db('user_sessions').where({ id: row.id }).delete();
    return null;
  }
  if (now - lastSeen > TOUCH_EVERY_MS) {
    await db('user_sessions').where({ id: row.id }).update({ last_seen_at: new Date(now).toISOString() });
  }
  return { id: row.id, userId: row.user_id, accountId: row.account_id, email: row.email, csrfToken: csrfTokenFor(token) };
}

/** Ends the session behind a token; answers whether there was one. */
export async function endSession(db: Db, token: string): Promise<boolean> {
  if (!TOKEN_SHAPE.test(token)) return false;
  return (await db('user_sessions').where({ token_hash: hashToken(token) }).delete()) > 0;
}
