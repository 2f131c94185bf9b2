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
}

/** A usage mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}
