/**
 * get_schema: a compact index by default (small enough for an agent's context) and one operation
 * in full on request, over HTTP and through the MCP tool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../../generated/catalog.gen.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { callTool, connect, type Connected } from './helpers.js';

let server: TestServer;
let conn: Connected;

beforeAll(async () => {
  server = await startTestServer('sqlite');
  const { key } = await server.account({ credits: 10, name: 'schema' });
  conn = await connect('http', server, key);
});

afterAll(async () => {
  await conn?.close();
  await server?.close();
});

async function get(query = '') {
  const res = await fetch(`${server.base}/_schema${query}`);
  const text = await res.text();
  return { status: res.status, bytes: Buffer.byteLength(text), json: JSON.parse(text) };
}

describe('GET /_schema', () => {
  it('answers a compact index of every operation by default', async () => {
    const full = Buffer.byteLength(JSON.stringify(catalog));
    const index = await get();
    console.log(`get_schema index: ${index.bytes} bytes; full catalog: ${full} bytes`);
    expect(index.status).toBe(200);
    expect(index.bytes).toBeLessThan(16_000);
    expect(index.bytes * 10).toBeLessThan(full);
    expect(index.json.title).toBe(catalog.title);
    expect(index.json.operations.map((o: any) => o.operation_id)).toEqual(catalog.operations.map((o) => o.operation_id));
    const generate = index.json.operations.find((o: any) => o.operation_id === 'generate_scene');
    expect(generate).toEqual({ operation_id: 'generate_scene', method: 'post', path: '/workflows/{id}/generate', summary: expect.stringMatching(/scene/i) });
    for (const op of index.json.operations) expect(Object.keys(op).sort(), op.operation_id).toEqual(['method', 'operation_id', 'path', 'summary']);
  });

  it('answers one operation in full with ?operation=', async () => {
    const one = await get('?operation=generate_scene');
    console.log(`get_schema ?operation=generate_scene: ${one.bytes} bytes`);
    expect(one.status).toBe(200);
    expect(one.json.operations).toHaveLength(1);
    expect(one.json.operations[0]).toEqual(JSON.parse(JSON.stringify(catalog.operations.find((o) => o.operation_id === 'generate_scene'))));
    expect(one.json.operations[0].charges_credits).toBe(true);
    expect(one.json.operations[0].async_job.poll).toBe('get_generation_status');
  });

  it('answers 404 not_found for an unknown operation and 400 for a malformed one', async () => {
    const missing = await get('?operation=make_coffee');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: 'not_found', resource: 'operation', id: 'make_coffee' });
    expect(missing.json.error.message).toContain('without `operation`');
    const bad = await get('?operation=DROP%20TABLE');
    expect(bad.status).toBe(400);
  });
});

describe('the get_schema MCP tool', () => {
  it('returns the index without arguments and one operation with `operation`', async () => {
    const index = await callTool(conn.client, 'get_schema');
    expect(index.isError).toBe(false);
    console.log(`get_schema tool index: ${Buffer.byteLength(index.text)} bytes of text`);
    expect(Buffer.byteLength(index.text)).toBeLessThan(16_000);
    expect(index.json.operations.length).toBe(catalog.operations.length);
    const one = await callTool(conn.client, 'get_schema', { operation: 'publish_video' });
    expect(one.isError).toBe(false);
    expect(one.json.operations[0].operation_id).toBe('publish_video');
    expect(one.json.operations[0].mcp_tools).toContain('publish_video');
    const missing = await callTool(conn.client, 'get_schema', { operation: 'make_coffee' });
    expect(missing.isError).toBe(true);
    expect(missing.error.code).toBe('not_found');
  });
});
