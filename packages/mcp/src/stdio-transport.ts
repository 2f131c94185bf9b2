/**
 * The stdio transport: one JSON-RPC message per line on stdin, one per line on stdout.
 *
 * The SDK's StdioServerTransport drops a line it cannot read without a word: bad JSON, a message
 * that is not JSON-RPC (wrong `jsonrpc`, an object id, a batch) and invalid UTF-8 get no answer,
 * so a client waits for its request until its own timeout. And a line over its 10 MB buffer
 * closes the transport, which ends the whole server (exit 0, nothing on stderr). Here every such
 * line is answered with the JSON-RPC error the specification gives it (-32700 Parse error,
 * -32600 Invalid Request; id null unless the line names one), reported on stderr, and the server
 * reads on. JSON the API could not keep as sent (too deep, `__proto__`, 1e400) is refused as `/mcp`
 * refuses it (message-values.ts). A line that is too long is skipped up to its newline, never held in memory whole.
 */
import { TextDecoder } from 'node:util';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { INVALID_REQUEST, PARSE_ERROR, parseMessage } from './jsonrpc-message.js';
import { unkeepableMessage } from './message-values.js';

/** Largest line read (the SDK's own buffer limit): past it the message is refused, not read. */
export const STDIO_MAX_LINE_BYTES = 10 * 1024 * 1024;

const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface LineTransportOptions {
  maxLineBytes?: number;
  /** Where refused lines are reported (default: console.error, i.e. stderr). */
  log?: (message: string) => void;
}

export class LineStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly maxLineBytes: number;
  private readonly log: (message: string) => void;
  /** The current line's bytes so far; while `skipping`, only its first and last bytes. */
  private chunks: Buffer[] = [];
  private size = 0;
  private skipping = false;
  private head: Buffer | null = null;
  private tail = Buffer.alloc(0);
  private closed = false;

  constructor(
    private readonly stdin: NodeJS.ReadableStream,
    private readonly stdout: NodeJS.WritableStream,
    options: LineTransportOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? STDIO_MAX_LINE_BYTES;
    this.log = options.log ?? ((m) => console.error(m));
  }

  async start(): Promise<void> {
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onStdinError);
    // The client went away (EPIPE): without a listener that error would end the process.
    this.stdout.on('error', this.onStdoutError);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return;
    const json = `${JSON.stringify(message)}\n`;
    await new Promise<void>((resolve) => {
      if (this.stdout.write(json)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStdinError);
    this.stdout.off('error', this.onStdoutError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.chunks = [];
    this.onclose?.();
  }

  private readonly onStdinError = (error: Error): void => {
    this.onerror?.(error);
  };

  private readonly onStdoutError = (error: Error): void => {
    this.log(`lavendly mcp: stdout failed (${(error as NodeJS.ErrnoException).code ?? error.message}): the client went away; stopping.`);
    this.onerror?.(error);
    void this.close();
  };

  private readonly onData = (data: Buffer | string): void => {
    let chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1 && !this.closed; nl = chunk.indexOf(NEWLINE)) {
      this.take(chunk.subarray(0, nl));
      this.endLine();
      chunk = chunk.subarray(nl + 1);
    }
    if (chunk.length && !this.closed) this.take(chunk);
  };

  /** Adds bytes to the current line; once it is too long, keeps only what can name its id. */
  private take(bytes: Buffer): void {
    if (!bytes.length) return;
    this.size += bytes.length;
    if (!this.skipping && this.size <= this.maxLineBytes) {
      this.chunks.push(bytes);
      return;
    }
    if (!this.skipping) {
      this.skipping = true;
      const held = Buffer.concat([...this.chunks, bytes]);
      this.head = held.subarray(0, 256);
      this.tail = Buffer.from(held.subarray(-256));
      this.chunks = [];
      return;
    }
    this.tail = Buffer.concat([this.tail, bytes]).subarray(-256);
  }

  private endLine(): void {
    const { chunks, size, skipping, head, tail } = this;
    this.chunks = [];
    this.size = 0;
    this.skipping = false;
    this.head = null;
    this.tail = Buffer.alloc(0);
    if (skipping) {
      const id = idFromEnds(head!.toString('utf8'), tail.toString('utf8'));
      this.refuse(id, -32000, `Payload Too Large: a message must not exceed ${this.maxLineBytes} bytes; this one (${size} bytes) was not read.`);
      return;
    }
    this.handleLine(Buffer.concat(chunks, size));
  }

  private handleLine(bytes: Buffer): void {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      this.refuse(null, PARSE_ERROR, 'Parse error: the message is not valid UTF-8.');
      return;
    }
    text = text.replace(/\r$/, '');
    if (!text.trim()) return; // blank lines between messages carry nothing
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.refuse(null, PARSE_ERROR, `Parse error: the line is not JSON (${(err as Error).message}).`);
      return;
    }
    if (Array.isArray(value)) {
      this.refuse(null, INVALID_REQUEST, 'Invalid Request: batches (JSON arrays) are not supported over stdio; send one JSON-RPC message per line.');
      return;
    }
    // Before the JSON-RPC check: a message too deep to read failed it as "not a JSON-RPC request".
    const unkeepable = unkeepableMessage(text, value);
    if (unkeepable) {
      this.refuse(unkeepable.id, unkeepable.code, unkeepable.message);
      return;
    }
    const parsed = parseMessage(value);
    if (!parsed.ok) {
      this.refuse(parsed.id, INVALID_REQUEST, parsed.message);
      return;
    }
    this.onmessage?.(parsed.message);
  }

  /** Answers a line that could not be read, so the client's request fails now instead of timing out. */
  private refuse(id: RequestId | null, code: number, message: string): void {
    this.log(`lavendly mcp: refused a message on stdin: ${message}`);
    // id null is what JSON-RPC prescribes when the request's id cannot be told.
    void this.send({ jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage).catch(() => {});
  }
}

/**
 * The id of a line too long to read, from its first and last bytes: clients write it either near
 * the start (`{"jsonrpc":"2.0","id":7,...`) or as the last member (`...,"id":7}`).
 */
export function idFromEnds(head: string, tail: string): RequestId | null {
  const ID = '(-?\\d{1,15}|"(?:[^"\\\\]|\\\\.){0,200}")';
  const atStart = new RegExp(`^\\s*\\{\\s*(?:"jsonrpc"\\s*:\\s*"2\\.0"\\s*,\\s*)?"id"\\s*:\\s*${ID}\\s*,`).exec(head);
  const atEnd = new RegExp(`,\\s*"id"\\s*:\\s*${ID}\\s*\\}\\s*$`).exec(tail.replace(/\r$/, ''));
  const raw = atStart?.[1] ?? atEnd?.[1];
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as RequestId;
  } catch {
    return null;
  }
}
