import { createAccount, createApiKey, listAccounts, revokeApiKey, type CreditGranter } from '../../accounts/accounts.js';
import { grant } from '../../ledger/index.js';
import { parseScopes } from '../../accounts/keys.js';
import type { Db } from '../../db/knex.js';
import { parseFlags, UsageError, type Command, type CommandIo } from '../command.js';
import { openData } from '../open.js';

const granter: CreditGranter = async (db, accountId, credits, reason) => {
  await grant(db, accountId, credits, reason);
};

/** The scopes checked before anything is opened: an unknown one is the operator's typo. */
function scopes(value: string | undefined): string {
  try {
    parseScopes(value ?? '');
  } catch (err) {
    throw new UsageError(`--scopes: ${(err as Error).message}`);
  }
  return value ?? '';
}

/**
 * Runs `create` (which makes a key) in a transaction that commits only once its output is
 * written: the key exists nowhere else, so when it cannot be printed (a full disk, a closed pipe)
 * nothing is created rather than an account whose key nobody has.
 */
async function createPrinted<T>(db: Db, io: CommandIo, create: (trx: Db) => Promise<T>, print: (created: T) => void): Promise<void> {
  await db.transaction(async (trx) => {
    print(await create(trx));
    try {
      await io.flush?.();
    } catch (err) {
      throw new Error(`could not write the new key to standard output (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing was created`);
    }
  });
}

function integer(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  // Past 2^53 a number no longer holds every whole value, so the ledger would store a rounded balance.
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER} (got ${value})`);
  }
  return Number(value);
}

export const accountsCreate: Command = {
  name: 'accounts create',
  summary: 'Create an account and its first API key (shown once).',
  usage: 'lavendly accounts create --name NAME [--credits N] [--scopes admin,ledger:write] [--json]',
  async run(args, io) {
    const values = parseFlags(args, { name: { type: 'string' }, credits: { type: 'string' }, scopes: { type: 'string' }, json: { type: 'boolean' } });
    if (!values.name?.trim()) throw new UsageError('--name is required');
    const credits = integer(values.credits, '--credits');
    const keyScopes = scopes(values.scopes);
    const { db } = await openData(io.env);
    try {
      await createPrinted(db, io, (trx) => createAccount(trx, { name: values.name!, credits, scopes: keyScopes }, granter), ({ account, apiKey }) => {
        const result = {
          account_id: account.id, name: account.name, credits, api_key: apiKey.key, key_id: apiKey.id,
          key_prefix: apiKey.prefix, scopes: apiKey.scopes, created_at: account.created_at,
        };
        if (values.json) io.out(JSON.stringify(result));
        else {
          io.out(`account ${account.id} (${account.name}) with ${credits} credits`);
          io.out(`API key ${apiKey.id} [${apiKey.scopes.join(', ') || 'no scopes'}]: ${apiKey.key}`);
          io.out('Keep the key now: it is stored only as a hash and cannot be shown again.');
        }
      });
      return 0;
    } finally {
      await db.destroy();
    }
  },
};

export const accountsList: Command = {
  name: 'accounts list',
  summary: 'List the accounts: id, name, balance and live keys (the ids other commands take).',
  usage: 'lavendly accounts list [--json]',
  async run(args, io) {
    const values = parseFlags(args, { json: { type: 'boolean' } });
    const { config, db } = await openData(io.env);
    try {
      const accounts = await listAccounts(db);
      if (values.json) io.out(JSON.stringify(accounts));
      // Where it looked: a relative or default LAVENDLY_DATA_DIR (./data) follows the current directory.
      else if (!accounts.length) {
        io.out(`no accounts yet in ${config.databaseUrl ? 'the PostgreSQL database (DATABASE_URL)' : `the SQLite database in ${config.dataDir}`} `
          + '(`lavendly serve` creates a development account on first start)');
      }
      else {
        const rows = [['ID', 'NAME', 'CREDITS', 'RESERVED', 'KEYS', 'CREATED'],
          ...accounts.map((a) => [a.id, a.name, String(a.balance), String(a.reserved), String(a.active_keys), a.created_at])];
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        for (const r of rows) io.out(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
      }
      return 0;
    } finally {
      await db.destroy();
    }
  },
};

export const keysCreate: Command = {
  name: 'keys create',
  summary: 'Create another API key for an account (shown once).',
  usage: 'lavendly keys create --account ACCOUNT_ID [--scopes admin,ledger:write] [--json]',
  async run(args, io) {
    const values = parseFlags(args, { account: { type: 'string' }, scopes: { type: 'string' }, json: { type: 'boolean' } });
    if (!values.account) throw new UsageError('--account is required');
    const keyScopes = scopes(values.scopes);
    const { db } = await openData(io.env);
    try {
      await createPrinted(db, io, (trx) => createApiKey(trx, values.account!, keyScopes), (key) => {
        const result = { key_id: key.id, account_id: key.account_id, api_key: key.key, key_prefix: key.prefix, scopes: key.scopes, created_at: key.created_at };
        if (values.json) io.out(JSON.stringify(result));
        else {
          io.out(`API key ${key.id} for ${key.account_id} [${key.scopes.join(', ') || 'no scopes'}]: ${key.key}`);
          io.out('Keep the key now: it is stored only as a hash and cannot be shown again.');
        }
      });
      return 0;
    } finally {
      await db.destroy();
    }
  },
};

export const keysRevoke: Command = {
  name: 'keys revoke',
  summary: 'Revoke an API key (running servers stop accepting it within seconds).',
  usage: 'lavendly keys revoke --key-id KEY_ID [--json]',
  async run(args, io) {
    const values = parseFlags(args, { 'key-id': { type: 'string' }, json: { type: 'boolean' } });
    const keyId = values['key-id'];
    if (!keyId) throw new UsageError('--key-id is required');
    const { db } = await openData(io.env);
    try {
      const found = await revokeApiKey(db, keyId);
      if (values.json) io.out(JSON.stringify({ key_id: keyId, revoked: found }));
      else if (found) io.out(`revoked ${keyId}`);
      else io.err(`lavendly: error: no key with id ${keyId}`);
      return found ? 0 : 1;
    } finally {
      await db.destroy();
    }
  },
};
