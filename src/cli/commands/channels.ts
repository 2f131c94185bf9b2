import fs from 'node:fs';
import { connectChannel, PLATFORMS, secretsFor, type Platform } from '../../publish/index.js';
import { parseFlags, UsageError, type Command } from '../command.js';
import { openData } from '../open.js';

function credentialsFrom(values: { credentials?: string; 'credentials-file'?: string; token?: string }, platform: Platform): Record<string, unknown> {
  const given = [values.credentials, values['credentials-file'], values.token].filter((v) => v !== undefined);
  if (given.length > 1) throw new UsageError('give only one of --credentials, --credentials-file and --token');
  let text = values.credentials;
  if (values['credentials-file'] !== undefined) {
    try {
      text = fs.readFileSync(values['credentials-file'], 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --credentials-file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (values.token !== undefined) return { access_token: values.token };
  if (text === undefined) {
    if (platform === 'local') return {};
    throw new UsageError(`a ${platform} channel needs --token, --credentials or --credentials-file`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The text may be a secret: never echo it back.
    throw new UsageError('the credentials are not valid JSON (expected an object such as {"access_token": "..."})');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('the credentials must be a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * Connecting a channel is an operator's act, never an agent's: this command (or the admin-scoped
 * connect_channel). The credentials are sealed before they are stored and are not printed.
 */
export const channelsConnect: Command = {
  name: 'channels connect',
  summary: 'Connect a publishing channel to an account (credentials stored encrypted, never shown).',
  usage: 'lavendly channels connect --account ID --platform youtube|tiktok|local --name NAME '
    + '[--token ACCESS_TOKEN | --credentials JSON | --credentials-file FILE] [--json]',
  async run(args, io) {
    const values = parseFlags(args, {
      account: { type: 'string' }, platform: { type: 'string' }, name: { type: 'string' },
      credentials: { type: 'string' }, 'credentials-file': { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' },
    });
    if (!values.account) throw new UsageError('--account is required');
    if (!values.name?.trim()) throw new UsageError('--name is required');
    const platform = values.platform as Platform | undefined;
    if (!platform || !PLATFORMS.includes(platform)) throw new UsageError(`--platform must be one of ${PLATFORMS.join(', ')}`);
    const credentials = credentialsFrom(values, platform);
    const { config, db } = await openData(io.env);
    try {
      const account = await db('accounts').where({ id: values.account }).first('id');
      if (!account) throw new Error(`no account with id ${values.account}`);
      const channel = await connectChannel(db, { accountId: values.account, platform, name: values.name, credentials }, secretsFor(config));
      if (values.json) io.out(JSON.stringify({ ...channel, account_id: values.account }));
      else io.out(`channel ${channel.id} (${channel.platform}, "${channel.name}") connected to ${values.account}`);
      return 0;
    } finally {
      await db.destroy();
    }
  },
};
