import { createUser } from '../../console-auth/users.js';
import { InvalidUserInputError } from '../../console-auth/errors.js';
import { parseFlags, UsageError, type Command } from '../command.js';
import { openData } from '../open.js';

/** Everything on standard input, less one trailing newline (`echo pw |` and a heredoc both work). */
async function readSecret(stream: NodeJS.ReadableStream, limit = 4096): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > limit) throw new UsageError(`the password on standard input is longer than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * Creates a person who signs in to the console. The password comes from standard input, never
 * from an argument, so it stays out of the shell history and the process list.
 */
export const usersCreate: Command = {
  name: 'users create',
  summary: 'Create a console user for an account (the password is read from standard input).',
  usage: 'lavendly users create --account ACCOUNT_ID --email EMAIL [--json] < password-file',
  async run(args, io) {
    const values = parseFlags(args, { account: { type: 'string' }, email: { type: 'string' }, json: { type: 'boolean' } });
    if (!values.account) throw new UsageError('--account is required');
    if (!values.email) throw new UsageError('--email is required');
    const stdin = io.stdin ?? process.stdin;
    if ((stdin as { isTTY?: boolean }).isTTY) io.err('Password (then Enter and Ctrl-D):');
    const password = await readSecret(stdin);
    if (!password) throw new UsageError('no password on standard input (e.g. `lavendly users create ... < password.txt`)');
    const { db } = await openData(io.env);
    try {
      const user = await createUser(db, { accountId: values.account, email: values.email, password });
      if (values.json) io.out(JSON.stringify({ user_id: user.id, account_id: user.account_id, email: user.email, created_at: user.created_at }));
      else io.out(`user ${user.id} (${user.email}) can now sign in to the console of ${user.account_id}`);
      return 0;
    } catch (err) {
      if (err instanceof InvalidUserInputError) throw new UsageError(err.message);
      // EmailTakenError, UnknownAccountError and the rest: `lavendly: error: ...`, exit code 1.
      throw err;
    } finally {
      await db.destroy();
    }
  },
};
