/**
 * Which email addresses `lavendly users create` takes. Before, anything with one `@` and no
 * whitespace passed: `ann<U+200B>@example.org` made a second user that reads exactly like
 * `ann@example.org`, and `a@b..c` or `a@<b>` were stored as emails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidUserInputError } from '../../src/console-auth/errors.js';
import { createUser } from '../../src/console-auth/users.js';
import { freshDb, type FreshDb } from '../helpers/db.js';

describe('user emails', () => {
  let fresh: FreshDb;
  let accountId: string;
  beforeAll(async () => {
    fresh = await freshDb('sqlite');
    accountId = 'acc_emails';
    await fresh.db('accounts').insert({ id: accountId, name: 'Emails', created_at: new Date().toISOString() });
  });
  afterAll(async () => { await fresh.close(); });

  it.each([
    ['a zero-width space', 'ann\u200b@example.org'],
    ['a right-to-left override', 'ann\u202e@example.org'],
    ['a control character', 'ann\u0001@example.org'],
    ['a no-break space', 'ann\u00a0@example.org'],
    ['an empty domain label', 'ann@example..org'],
    ['a domain ending in a dot', 'ann@example.org.'],
    ['angle brackets in the domain', 'ann@<example.org>'],
    ['two @', 'ann@@example.org'],
  ])('refuses %s', async (_why, email) => {
    const made = createUser(fresh.db, { accountId, email, password: 'a long enough secret' });
    await expect(made).rejects.toBeInstanceOf(InvalidUserInputError);
    await expect(made).rejects.toMatchObject({ field: 'email' });
    expect(await fresh.db('users').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it.each(['Ann@Example.org', 'a.b+tag@sub.example.co', 'ñandú@correo.es', 'ops@localhost'])('takes %s', async (email) => {
    const user = await createUser(fresh.db, { accountId, email, password: 'a long enough secret' });
    expect(user.email).toBe(email.toLowerCase());
  });
});
