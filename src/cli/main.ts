#!/usr/bin/env node
/**
 * `lavendly <command>`: the command table. Each command is a module exporting a `Command`; add
 * yours to `commands`. Commands whose names share a first word form a group (`lavendly accounts`
 * lists its commands). Errors print as one `lavendly: error: ...` line: exit code 2 for a usage
 * mistake, 3 for a database migrated by a newer release that this one cannot run beside (a
 * supervisor should stop restarting this binary, not retry it), 1 for anything else (a bad
 * setting, a busy port, an unreachable database).
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../config.js';
import { PG_CONNECT_TIMEOUT_MS } from '../db/knex.js';
import { NewerSchemaError } from '../db/migration-log.js';
import { outageReason } from '../db/unavailable.js';
import { ListenError } from '../http/app.js';
import { isDiskFull } from '../util/disk-full.js';
import { VERSION } from '../version.js';
import { UsageError, type Command, type CommandIo } from './command.js';
import { accountsCreate, accountsList, keysCreate, keysRevoke } from './commands/accounts.js';
import { serveCommand } from './commands/serve.js';
import { mcpCommand } from '../mcp/command.js'; // MCP over stdio (src/mcp)
import { workerCommand } from './commands/worker.js'; // job worker without the API
import { channelsConnect } from './commands/channels.js';
import { usersCreate } from './commands/users.js'; // console sign-in (src/console-auth)
import { backupCommand } from './commands/backup.js';

export const commands: Command[] = [
  serveCommand, workerCommand, accountsCreate, accountsList, keysCreate, keysRevoke, channelsConnect, usersCreate, mcpCommand, backupCommand,
];

function table(io: CommandIo, list: Command[]): void {
  const width = Math.max(...list.map((c) => c.name.length));
  for (const c of list) io.out(`  ${c.name.padEnd(width)}  ${c.summary}`);
}

function help(io: CommandIo): void {
  io.out(`lavendly ${VERSION}: the Lavendly API server, its workers and operator commands`);
  io.out('');
  io.out('Usage: lavendly <command> [options]');
  io.out('');
  table(io, commands);
  io.out('');
  io.out('Options: --help (on any command or group, or `lavendly help <command>`), --version');
}

function groupHelp(io: CommandIo, group: string, members: Command[]): void {
  io.out(`Usage: lavendly ${group} <command> [options]`);
  io.out('');
  table(io, members);
  io.out('');
  io.out(`\`lavendly ${group} <command> --help\` shows a command's options.`);
}

function commandHelp(io: CommandIo, command: Command): void {
  io.out(command.summary);
  io.out(`Usage: ${command.usage}`);
}

/** Picks the longest command name that prefixes argv ('keys create' before 'keys'). */
function find(argv: string[]): { command: Command; rest: string[] } | null {
  const sorted = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of sorted) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(words.length) };
  }
  return null;
}

const isHelp = (a: string | undefined) => a === '--help' || a === '-h';

/** Failures an operator fixes from the message alone: no stack trace, no command usage. */
function message(err: unknown): string {
  if (err instanceof ConfigError || err instanceof ListenError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'ETIMEDOUT' || e?.code === '28P01' || e?.code === '3D000') {
    return `cannot reach the database: ${e.message}`;
  }
  // pg's connect timeout (src/db/knex.ts), or knex's when no connection came at all: a database
  // that accepts connections and never answers.
  if (e?.message === 'timeout expired' || e?.name === 'KnexTimeoutError') {
    return `cannot reach the database: no answer within ${PG_CONNECT_TIMEOUT_MS / 1000} s`;
  }
  // A full disk at start (migrations, the signing secret): say so, and what to do, in the one line.
  if (isDiskFull(err)) return `out of disk space (${outageReason(err)}); free space on the disk holding LAVENDLY_DATA_DIR (or the database's) and start again`;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_IOERR')) return `${outageReason(err)} (is the disk holding LAVENDLY_DATA_DIR full?)`;
  return e?.message ?? String(err);
}

/**
 * The process's own streams. A failed write to stdout (a full disk, a reader that went away) is
 * kept for `flush` rather than thrown as an 'error' event, which would end the process with a
 * stack trace, or lost, which would end it with 0 after an API key went nowhere.
 */
function processIo(): CommandIo {
  let failure: Error | null = null;
  let written: Promise<void> = Promise.resolve();
  process.stdout.on('error', (err) => { failure ??= err; });
  return {
    env: process.env,
    out: (line) => {
      written = new Promise((resolve) => {
        process.stdout.write(`${line}\n`, (err) => {
          if (err) failure ??= err;
          resolve();
        });
      });
    },
    err: (line) => process.stderr.write(`${line}\n`),
    flush: async () => {
      await written;
      if (failure) throw failure;
    },
  };
}

export async function main(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const code = await dispatch(argv, io);
  try {
    await io.flush?.();
  } catch (err) {
    // A reader that stopped reading (`lavendly --help | head -1`) wanted no more; anything else
    // means the output is incomplete where it was meant to land.
    // A command that failed has said why already (accounts create: "nothing was created").
    if ((err as NodeJS.ErrnoException).code === 'EPIPE' || code !== 0) return code;
    io.err(`lavendly: error: could not write to standard output (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return 1;
  }
  return code;
}

async function dispatch(argv: string[], io: CommandIo): Promise<number> {
  const usageError = (text: string, show: () => void) => {
    io.err(`lavendly: error: ${text}`);
    show();
    return 2;
  };
  if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
    io.out(VERSION);
    return 0;
  }
  // `lavendly help accounts create` is `lavendly accounts create --help` (and fails the same way for an unknown command).
  if (argv[0] === 'help' && argv.length > 1) return dispatch([...argv.slice(1), '--help'], io);
  if (!argv.length || argv[0] === 'help' || isHelp(argv[0])) {
    if (!argv.length) return usageError('no command given', () => help({ ...io, out: io.err }));
    help(io);
    return 0;
  }
  const found = find(argv);
  if (!found) {
    const members = commands.filter((c) => c.name.split(' ')[0] === argv[0] && c.name.includes(' '));
    if (members.length) {
      if (argv.length === 1 || isHelp(argv[1])) {
        if (argv.length === 1) return usageError(`'${argv[0]}' needs a command`, () => groupHelp({ ...io, out: io.err }, argv[0]!, members));
        groupHelp(io, argv[0]!, members);
        return 0;
      }
      return usageError(`unknown command '${argv[0]} ${argv[1]}'`, () => groupHelp({ ...io, out: io.err }, argv[0]!, members));
    }
    return usageError(`unknown command '${argv[0]}'`, () => io.err('Run `lavendly --help` for the list of commands.'));
  }
  if (found.rest.some(isHelp)) {
    commandHelp(io, found.command);
    return 0;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      // parseArgs explains some mistakes over several lines; the error is one line.
      return usageError((err as Error).message.replace(/\s*\n\s*/g, ' '), () => io.err(`Usage: ${found.command.usage}`));
    }
    io.err(`lavendly: error: ${message(err)}`);
    return err instanceof NewerSchemaError ? NEWER_SCHEMA_EXIT : 1;
  }
}

/** The exit code for a database this release cannot run on (see the comment at the top). */
export const NEWER_SCHEMA_EXIT = 3;

/** True when this file is the program node runs (directly, or through the package's bin link). */
function isEntry(): boolean {
  if (!process.argv[1]) return false;
  try {
    return import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  // Exit explicitly: a command is over when main resolves, whatever handles (a database pool, a
  // timer) something forgot to close; a failed start must never leave a process hanging.
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    process.stderr.write(`lavendly: error: ${message(err)}\n`);
    process.exit(1);
  });
}
