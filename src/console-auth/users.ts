import type { Db } from '../db/knex.js';
import { nowIso } from '../db/knex.js';
import { newId } from '../util/ids.js';
import { EmailTakenError, InvalidUserInputError, UnknownAccountError } from './errors.js';
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.js';

export interface User {
  id: string;
  account_id: string;
  email: string;
  created_at: string;
}

/**
 * One `@` between a local part and a domain of dot-separated labels. Control, format (zero-width,
 * bidi override) and separator characters are refused anywhere: they would let an operator create a
 * second user who reads exactly like an existing one in the console and the logs.
 */
const EMAIL_SHAPE = /^[^\s@\p{Cc}\p{Cf}\p{Z}]+@(?:[^\s@\p{Cc}\p{Cf}\p{Z}.,;:<>()[\]\\"]+\.)*[^\s@\p{Cc}\p{Cf}\p{Z}.,;:<>()[\]\\"]+$/u;

/** Emails are compared and stored trimmed and lower-cased: `Ann@Example.org` and `ann@example.org` are one user. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function checkEmail(raw: string): string {
  const email = normaliseEmail(raw);
  if (!email || email.length > 254 || !EMAIL_SHAPE.test(email)) {
    throw new InvalidUserInputError('email', 'An email address such as ann@example.org is required (at most 254 characters).');
  }
  return email;
}

function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
    throw new InvalidUserInputError('password', `A password needs ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.`);
  }
}

export async function createUser(db: Db, input: { accountId: string; email: string; password: string }): Promise<User> {
  const email = checkEmail(input.email);
  checkPassword(input.password);
  const account = await db('accounts').where({ id: input.accountId }).first('id');
  if (!account) throw new UnknownAccountError(input.accountId);
  if (await db('users').where({ email }).first('id')) throw new EmailTakenError(email);
  const user: User = { id: newId('usr'), account_id: input.accountId, email, created_at: nowIso() };
  const password_hash = await hashPassword(input.password);
  try {
    await db('users').insert({ ...user, password_hash });
  } catch (err) {
    // Two creations of one email at once: the unique index decides.
    if (await db('users').where({ email }).first('id')) throw new EmailTakenError(email);
    throw err;
  }
  return user;
}

/** The user and their stored hash, for sign-in only. */
export async function findUserForSignIn(db: Db, email: string): Promise<(User & { password_hash: string }) | null> {
  const row = await db('users').where({ email: normaliseEmail(email) }).first('id', 'account_id', 'email', 'created_at', 'password_hash');
  return row ?? null;
}
