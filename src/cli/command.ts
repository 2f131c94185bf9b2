import { parseArgs, type ParseArgsConfig } from 'node:util';

/** What one `lavendly <command>` is: its name, a line of help, and what it does. */
export interface Command {
  /** `serve`, `accounts create`, `keys revoke` ... (space-separated words). */
  name: string;
  summary: string;
  usage: string;
  /** Resolves to the exit code. */
  run(args: string[], io: CommandIo): Promise<number>;
}

export interface CommandIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Where secrets such as a password are read from (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /**
   * Resolves once every line given to `out` has been written, rejects when one could not be (a
   * full disk, a closed pipe). A command that prints something shown only once (an API key)
   * waits for it before it commits.
   */
  flush?: () => Promise<void>;
}

/** A usage mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * The command's flags (node's parseArgs, strict: unknown flags and positional arguments are
 * usage errors). A flag given twice is refused too: parseArgs keeps the last one silently, so
 * `--scopes admin --scopes ledger:write` would make a key with one scope and say nothing.
 */
export function parseFlags<O extends Options>(args: string[], options: O) {
  const parsed = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true });
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || options[token.name]?.multiple) continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once`);
    seen.add(token.name);
  }
  return parsed.values;
}
