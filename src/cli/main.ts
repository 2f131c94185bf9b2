/**
 * `lavendly <command>`: the command table. Each command is a module exporting a `Command`; add
 * yours to `commands` (the worker, mcp and channels commands join here).
 */
import { pathToFileURL } from 'node:url';
import { UsageError, type Command, type CommandIo } from './command.js';
import { accountsCreate, keysCreate, keysRevoke } from './commands/accounts.js';
import { serveCommand } from './commands/serve.js';
import { mcpCommand } from '../mcp/command.js'; // MCP over stdio (src/mcp)
import { workerCommand } from './commands/worker.js'; // job worker without the API
import { channelsConnect } from './commands/channels.js';

export const commands: Command[] = [serveCommand, workerCommand, accountsCreate, keysCreate, keysRevoke, channelsConnect, mcpCommand];

function help(io: CommandIo): void {
  io.out('Usage: lavendly <command> [options]');
  io.out('');
  const width = Math.max(...commands.map((c) => c.name.length));
  for (const c of commands) io.out(`  ${c.name.padEnd(width)}  ${c.summary}`);
  io.out('');
  io.out('`lavendly <command> --help` shows a command\'s options.');
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

export async function main(argv: string[], io: CommandIo = {
  env: process.env, out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`),
}): Promise<number> {
  if (!argv.length || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    help(io);
    return argv.length ? 0 : 2;
  }
  const found = find(argv);
  if (!found) {
    io.err(`lavendly: unknown command '${argv.join(' ')}'`);
    help(io);
    return 2;
  }
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    io.out(`${found.command.summary}\nUsage: ${found.command.usage}`);
    return 0;
  }
  try {
    return await found.command.run(found.rest, io);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`lavendly ${found.command.name}: ${(err as Error).message}`);
      io.err(`Usage: ${found.command.usage}`);
      return 2;
    }
    io.err(`lavendly ${found.command.name}: ${(err as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
