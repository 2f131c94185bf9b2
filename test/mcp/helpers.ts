/**
 * MCP test plumbing: the official client over both transports against a real server, and sample
 * arguments built from a tool's JSON Schema.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export { MCP_TOOLS } from '../helpers/seed-tools.js';

export type TransportKind = 'stdio' | 'http';

export interface Connected {
  client: Client;
  /** stderr of the stdio server process (empty for HTTP). */
  stderr: () => string;
  close(): Promise<void>;
}

/** The stdio server exactly as a desktop client starts it: `lavendly mcp` with env configuration. */
export async function connectStdio(baseUrl: string, apiKey: string | undefined, options: ClientOptions = {}, extraArgs: string[] = []): Promise<Connected> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  delete env.LAVENDLY_API_KEY;
  if (apiKey) env.LAVENDLY_API_KEY = apiKey;
  env.LAVENDLY_BASE_URL = baseUrl;
  const transport = new StdioClientTransport({
    command: 'npx', args: ['tsx', 'src/cli/main.ts', 'mcp', ...extraArgs], cwd: ROOT, env, stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const client = new Client({ name: 'lavendly-test', version: '1.0.0' }, options);
  try {
    await client.connect(transport);
  } catch (err) {
    throw new Error(`stdio MCP server did not start: ${(err as Error).message}\n${stderr}`);
  }
  return { client, stderr: () => stderr, close: () => client.close() };
}

/** The HTTP endpoint of a running server, authenticated with the caller's key. */
export async function connectHttp(origin: string, apiKey: string, options: ClientOptions = {}): Promise<Connected> {
  const transport = new StreamableHTTPClientTransport(new URL(`${origin}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
  });
  const client = new Client({ name: 'lavendly-test', version: '1.0.0' }, options);
  await client.connect(transport);
  return { client, stderr: () => '', close: () => client.close() };
}

export function connect(kind: TransportKind, server: { origin: string; base: string }, apiKey: string, options: ClientOptions = {}): Promise<Connected> {
  return kind === 'stdio' ? connectStdio(server.base, apiKey, options) : connectHttp(server.origin, apiKey, options);
}

/** Calls a tool; returns the result with its parsed JSON text. */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}, timeout = 60_000) {
  const result = (await client.callTool({ name, arguments: args }, undefined, { timeout })) as CallToolResult;
  const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
  let json: any = null;
  if (!result.isError) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  const body = result.isError ? errorBody(result) : null;
  return { result, text, json, isError: result.isError === true, error: body?.error as any, nextStep: body?.next_step as string | undefined };
}

/** The error envelope of an error result: its last content block is the JSON `{ error, next_step }`. */
export function errorBody(result: { content: unknown }): { error: Record<string, any>; next_step: string } | null {
  const blocks = (result.content as { type: string; text?: string }[]).filter((c) => c.type === 'text');
  try {
    return JSON.parse(blocks[blocks.length - 1]?.text ?? '');
  } catch {
    return null;
  }
}

/** Calls a tool that must succeed; returns its JSON. */
export async function ok(client: Client, name: string, args: Record<string, unknown> = {}): Promise<any> {
  const r = await callTool(client, name, args);
  if (r.isError) throw new Error(`${name} failed: ${r.text}`);
  return r.json;
}

type Schema = { [k: string]: any } | boolean;

/**
 * Minimal arguments that satisfy a JSON Schema: required properties only, from `examples`,
 * `default`, `enum` or the type's bounds. Enough for a call to pass validation and reach the server.
 */
export function sampleFor(schema: Schema, overrides: Record<string, unknown> = {}): any {
  if (typeof schema === 'boolean') return {};
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  for (const key of ['oneOf', 'anyOf'] as const) if (Array.isArray(schema[key])) return sampleFor(schema[key][0], overrides);
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type ?? (schema.properties ? 'object' : 'string')) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required ?? []) out[name] = name in overrides ? overrides[name] : sampleFor(schema.properties?.[name] ?? {});
      for (const [name, value] of Object.entries(overrides)) if (schema.properties && name in schema.properties) out[name] = value;
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => sampleFor(schema.items ?? {}));
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return true;
    default:
      if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      if (schema.format === 'uri') return 'https://example.com/file.png';
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
  }
}

/** Polls `fn` until `done` says so, or fails after `timeoutMs`. */
export async function poll<T>(fn: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 180_000, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up polling after ${timeoutMs} ms; last value: ${JSON.stringify(value).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
