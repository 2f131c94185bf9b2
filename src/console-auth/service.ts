import type { Db } from '../db/knex.js';
import { InvalidCredentialsError, SignInThrottledError } from './errors.js';
import { decoyHash, PASSWORD_MAX_LENGTH, verifyPassword } from './passwords.js';
import {
  DEFAULT_SESSION_LIMITS, endSession, findSession, startSession, type ActiveSession, type SessionLimits,
} from './sessions.js';
import { FailureThrottle } from './throttle.js';
import { findUserForSignIn, normaliseEmail } from './users.js';

export interface ConsoleAuthOptions {
  limits: SessionLimits;
  /** Failed sign-ins allowed per client address, and per email, each minute. */
  failuresPerMinute: number;
}

/** Console settings from the environment (LAVENDLY_SESSION_IDLE_HOURS, LAVENDLY_SESSION_MAX_DAYS, LAVENDLY_SIGN_IN_FAILURES_PER_MINUTE). */
export function consoleAuthOptionsFromEnv(env: NodeJS.ProcessEnv): ConsoleAuthOptions {
  // A session lifetime of 0 would end every session as it starts: refused, like a fraction of a
  // failure. A failure limit of 0 turns the throttle off (FailureThrottle).
  const num = (name: string, fallback: number, rule: 'above 0' | 'whole, 0 or more') => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    const ok = Number.isFinite(n) && (rule === 'above 0' ? n > 0 : Number.isInteger(n) && n >= 0);
    if (!ok) throw new Error(`${name} must be ${rule === 'above 0' ? 'a number above 0' : 'a whole number, 0 or more'} (got '${raw}')`);
    return n;
  };
  return {
    limits: {
      idleMs: num('LAVENDLY_SESSION_IDLE_HOURS', DEFAULT_SESSION_LIMITS.idleMs / 3600_000, 'above 0') * 3600_000,
      absoluteMs: num('LAVENDLY_SESSION_MAX_DAYS', DEFAULT_SESSION_LIMITS.absoluteMs / 86_400_000, 'above 0') * 86_400_000,
    },
    failuresPerMinute: num('LAVENDLY_SIGN_IN_FAILURES_PER_MINUTE', 10, 'whole, 0 or more'),
  };
}

/** People signing in to the console: passwords checked, sessions started, found and ended. */
export class ConsoleAuth {
  private readonly byAddress: FailureThrottle;
  private readonly byEmail: FailureThrottle;

  constructor(private readonly db: Db, readonly options: ConsoleAuthOptions) {
    this.byAddress = new FailureThrottle(options.failuresPerMinute);
    this.byEmail = new FailureThrottle(options.failuresPerMinute);
  }

  /**
   * A new session for the right email and password. An unknown email is checked against a decoy
   * hash, so it fails the same way and takes as long as a wrong password.
   */
  async signIn(email: string, password: string, address: string): Promise<{ token: string; session: ActiveSession }> {
    const emailKey = normaliseEmail(email);
    // Started now, so that even the first unknown email does not pay for computing the decoy.
    const decoy = decoyHash();
    const wait = Math.max(this.byAddress.blockedFor(address), this.byEmail.blockedFor(emailKey));
    if (wait) throw new SignInThrottledError(wait);
    const user = emailKey && password.length <= PASSWORD_MAX_LENGTH ? await findUserForSignIn(this.db, emailKey) : null;
    const ok = await verifyPassword(password, user?.password_hash ?? (await decoy));
    if (!user || !ok) {
      this.byAddress.fail(address);
      this.byEmail.fail(emailKey);
      throw new InvalidCredentialsError();
    }
    return startSession(this.db, user, this.options.limits);
  }

  session(token: string): Promise<ActiveSession | null> {
    return findSession(this.db, token, this.options.limits);
  }

  signOut(token: string): Promise<boolean> {
    return endSession(this.db, token);
  }
}
