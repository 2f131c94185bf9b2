/**
 * What the console's sign-in can refuse, as domain errors: the HTTP edge
 * (src/http/console/) turns them into the envelope with a status.
 */
export class InvalidUserInputError extends Error {
  constructor(readonly field: 'email' | 'password' | 'account_id', message: string) {
    super(message);
    this.name = 'InvalidUserInputError';
  }
}

export class EmailTakenError extends Error {
  constructor(readonly email: string) {
    super(`A user with the email ${email} already exists.`);
    this.name = 'EmailTakenError';
  }
}

export class UnknownAccountError extends Error {
  constructor(readonly accountId: string) {
    super(`No account with id ${accountId} exists.`);
    this.name = 'UnknownAccountError';
  }
}

/** Unknown email and wrong password are the same error, so the answer tells an attacker nothing. */
export class InvalidCredentialsError extends Error {
  constructor() {
    super('The email or password is not correct.');
    this.name = 'InvalidCredentialsError';
  }
}

export class SignInThrottledError extends Error {
  constructor(readonly retryAfterS: number) {
    super(`Too many failed sign-ins; try again in ${retryAfterS} s.`);
    this.name = 'SignInThrottledError';
  }
}
