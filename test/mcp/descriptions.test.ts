/**
 * Every input an agent can pass to a tool says what it is for (at every depth), and no input text
 * points the agent at HTTP machinery (headers) a tool call cannot reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connect, type Connected } from './helpers.js';

let server: TestServer;
let conn: Connected;
let tools: Tool[];

beforeAll(async () => {
  server = await startTestServer('sqlite');
  const { key } = await server.account({ credits: 10, name: 'descriptions' });
  conn = await connect('http', server, key);
  ({ tools } = await conn.client.listTools());
});

afterAll(async () => {
  await conn?.close();
  await server?.close();
});

/** Every property of a JSON Schema, as `path` + its schema, through items and oneOf/anyOf/allOf. */
function properties(schema: unknown, prefix = ''): { path: string; schema: Record<string, unknown> }[] {
  if (!schema || typeof schema !== 'object') return [];
  if (Array.isArray(schema)) return schema.flatMap((s) => properties(s, prefix));
  const s = schema as Record<string, any>;
  const out: { path: string; schema: Record<string, unknown> }[] = [];
  for (const [name, sub] of Object.entries<Record<string, unknown>>(s.properties ?? {})) {
    out.push({ path: `${prefix}${name}`, schema: sub }, ...properties(sub, `${prefix}${name}.`));
  }
  if (s.items) out.push(...properties(s.items, `${prefix}[].`));
  for (const k of ['oneOf', 'anyOf', 'allOf']) if (s[k]) out.push(...properties(s[k], prefix));
  return out;
}

describe('tool inputs', () => {
  it('every input property of every tool has a description', () => {
    const missing: string[] = [];
    let count = 0;
    for (const tool of tools) {
      for (const p of properties(tool.inputSchema)) {
        count++;
        if (typeof p.schema.description !== 'string' || p.schema.description.trim().length < 10) missing.push(`${tool.name}.${p.path}`);
      }
    }
    console.log(`${count} input properties over ${tools.length} tools`);
    expect(count).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  it('no input text tells the agent about an HTTP header', () => {
    const mentions: string[] = [];
    for (const tool of tools) {
      for (const p of properties(tool.inputSchema)) {
        if (/If-Match|Idempotency-Key|\bheader\b/i.test(String(p.schema.description ?? ''))) mentions.push(`${tool.name}.${p.path}`);
      }
    }
    expect(mentions).toEqual([]);
    const version = tools.find((t) => t.name === 'update_workflow')!.inputSchema.properties!.version as { description: string };
    expect(version.description).toMatch(/precondition_failed/);
  });
});
