/**
 * What an operator's mistakes get from `lavendly`: one `lavendly: error: ...` line on stderr, no
 * stack trace, exit code 2 for a usage mistake and 1 for anything else, and nothing created that
 * the operator cannot use (an account whose key was never printed).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli-run.js';
import { freshDb, testDatabases } from '../helpers/db.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-cli-mistakes-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function io(env: NodeJS.ProcessEnv, stdin?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const input = stdin === undefined ? {} : { stdin: (async function* () { yield Buffer.from(stdin); })() as unknown as NodeJS.ReadableStream };
  return { out, err, io: { env, out: (l: string) => out.push(l), err: (l: string) => err.push(l), ...input } };
}

/** Runs the CLI with its standard output on /dev/full: every write to it fails with ENOSPC. */
function runIntoFullDisk(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const full = fs.openSync('/dev/full', 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT, env: { ...env, LAVENDLY_API_KEY: undefined }, stdio: ['ignore', full, 'pipe'],
  });
  fs.closeSync(full);
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += String(d); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('lavendly usage mistakes', () => {
  const env = { LAVENDLY_DATA_DIR: path.join(scratch, 'usage'), DATABASE_URL: '' };

  it('`help <command>` is `<command> --help`; `help <unknown>` is an unknown command', async () => {
    const viaHelp = io(env);
    expect(await main(['help', 'accounts', 'create'], viaHelp.io)).toBe(0);
    const viaFlag = io(env);
    await main(['accounts', 'create', '--help'], viaFlag.io);
    expect(viaHelp.out).toEqual(viaFlag.out);
    expect(viaHelp.out.join('\n')).toContain('Usage: lavendly accounts create --name NAME');
    const group = io(env);
    expect(await main(['help', 'keys'], group.io)).toBe(0);
    expect(group.out[0]).toBe('Usage: lavendly keys <command> [options]');
    const unknown = io(env);
    expect(await main(['help', 'nope'], unknown.io)).toBe(2);
    expect(unknown.err[0]).toBe("lavendly: error: unknown command 'nope'");
    expect(unknown.out).toEqual([]);
  });

  it('refuses a flag given twice, an unknown scope and a dash-value, each on one line, creating nothing', async () => {
    const cases: [string[], string][] = [
      [['accounts', 'create', '--name', 'a', '--name', 'b'], 'lavendly: error: --name is given more than once'],
      [['accounts', 'create', '--name', 'a', '--scopes', 'admin', '--scopes', 'ledger:write'], 'lavendly: error: --scopes is given more than once'],
      [['serve', '--port', '1', '--port', '2'], 'lavendly: error: --port is given more than once'],
      [['accounts', 'create', '--name', 'a', '--scopes', 'admin,bogus'], 'lavendly: error: --scopes: unknown scope(s): bogus (known: admin, ledger:write)'],
      [['keys', 'create', '--account', 'acc_x', '--scopes', 'bogus'], 'lavendly: error: --scopes: unknown scope(s): bogus (known: admin, ledger:write)'],
      [['worker', '--concurrency', '99999999999999999999'], "lavendly: error: --concurrency must be a whole number >= 1 (got '99999999999999999999')"],
      [['accounts', 'create', '--name', 'a', '--credits', '-5'], "lavendly: error: Option '--credits' argument is ambiguous."],
    ];
    for (const [args, first] of cases) {
      const r = io(env);
      expect(await main(args, r.io), args.join(' ')).toBe(2);
      expect(r.err[0], args.join(' ')).toContain(first);
      expect(r.err[0], args.join(' ')).not.toContain('\n');
      expect(r.err.slice(1), args.join(' ')).toEqual([expect.stringMatching(/^Usage: lavendly /)]);
    }
    const list = io(env);
    expect(await main(['accounts', 'list', '--json'], list.io)).toBe(0);
    expect(JSON.parse(list.out[0]!)).toEqual([]);
  });

  it('says every other failure with the same prefix', async () => {
    const channel = io(env);
    expect(await main(['channels', 'connect', '--account', 'acc_nope', '--platform', 'local', '--name', 'n'], channel.io)).toBe(1);
    expect(channel.err).toEqual(['lavendly: error: no account with id acc_nope']);
    const user = io(env, 'a long enough password\n');
    expect(await main(['users', 'create', '--account', 'acc_nope', '--email', 'ann@example.org'], user.io)).toBe(1);
    expect(user.err).toEqual([expect.stringMatching(/^lavendly: error: No account with id acc_nope/)]);
    const mcp = io(env);
    expect(await main(['mcp', '--tools', 'get_stauts'], mcp.io)).toBe(2);
    expect(mcp.err[0]).toMatch(/^lavendly: error: unknown tool get_stauts/);
  });
});

describe('a data directory that cannot be used', () => {
  it('is named in one line, without knex stack traces', { timeout: 180_000 }, async () => {
    const file = path.join(scratch, 'a-file');
    fs.writeFileSync(file, '');
    const sqliteIsDir = path.join(scratch, 'sqlite-is-a-dir');
    fs.mkdirSync(path.join(sqliteIsDir, 'lavendly.sqlite'), { recursive: true });
    const inTheWay = 'a file is in the way (it must be a directory)';
    const cases: [string, string][] = [[file, inTheWay], [path.join(file, 'sub'), inTheWay], [sqliteIsDir, 'lavendly.sqlite there is not a file']];
    for (const [dir, why] of cases) {
      // The worker opens the directory its own way (signing secret, then the database).
      for (const command of dir === file ? [['accounts', 'list'], ['worker']] : [['accounts', 'list']]) {
        const r = await runCli(command, { PATH: process.env.PATH, LAVENDLY_DATA_DIR: dir });
        expect(r.code, `${command} ${dir}`).toBe(1);
        expect(r.stdout, `${command} ${dir}`).toBe('');
        expect(r.stderr, `${command} ${dir}`).toBe(`lavendly: error: LAVENDLY_DATA_DIR ${dir} cannot be used: ${why}\n`);
      }
    }
  });
});

describe.each(testDatabases())('a new key that cannot be printed, on %s', (kind) => {
  it('creates nothing: no account and no key nobody has', async () => {
    const fresh = await freshDb(kind);
    const env = { PATH: process.env.PATH, LAVENDLY_DATA_DIR: fresh.dataDir, DATABASE_URL: fresh.databaseUrl ?? '' };
    try {
      const account = await runIntoFullDisk(['accounts', 'create', '--name', 'Lost', '--credits', '5', '--json'], env);
      expect(account.code).toBe(1);
      expect(account.stderr).toBe('lavendly: error: could not write the new key to standard output (ENOSPC); nothing was created\n');
      expect(Number((await fresh.db('accounts').count({ n: '*' }).first())!.n)).toBe(0);
      expect(Number((await fresh.db('api_keys').count({ n: '*' }).first())!.n)).toBe(0);

      const made = io(env);
      expect(await main(['accounts', 'create', '--name', 'Kept', '--json'], made.io)).toBe(0);
      const accountId = JSON.parse(made.out[0]!).account_id as string;
      const key = await runIntoFullDisk(['keys', 'create', '--account', accountId], env);
      expect(key.code).toBe(1);
      expect(key.stderr).toBe('lavendly: error: could not write the new key to standard output (ENOSPC); nothing was created\n');
      expect(Number((await fresh.db('api_keys').where({ account_id: accountId }).count({ n: '*' }).first())!.n)).toBe(1);
      expect(Number((await fresh.db('ledger_entries').count({ n: '*' }).first())!.n)).toBe(0);

      // Output that is not a secret: the failure still shows and the exit code says so.
      const listed = await runIntoFullDisk(['accounts', 'list'], env);
      expect(listed).toEqual({ code: 1, stderr: 'lavendly: error: could not write to standard output (ENOSPC)\n' });
    } finally {
      await fresh.close();
    }
  });
});
