/**
 * The MCP tools in front of something that is not the Lavendly API (a wrong LAVENDLY_BASE_URL,
 * the console, a proxy): the official client, after tools/list as real clients do, gets error
 * results that say what answered and what to check. Before, a 200 page was a result without the
 * structured content the outputSchema promises (the client threw -32600 naming neither the page
 * nor the address), and an error page came back as its markup, all of it again in the envelope.
 * Resources alike: a page was served as application/json, an error page quoted as markup.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lavendly } from '../../generated/sdk.gen.js';
import { createMcpServer } from '../../packages/mcp/src/server.js';
import { errorBody } from './helpers.js';

const PAGE = `<!doctype html><html><head><title>502 Bad Gateway</title><style>body{}</style></head><body><h1>502 Bad Gateway</h1>${' '.repeat(100_000)}<hr>nginx</body></html>`;

/** Answers by path: what a proxy, a console or a broken upstream would send. */
const foreign = http.createServer((req, res) => {
  const path = req.url!.split('?')[0]!;
  if (path === '/v1/workflows' && req.method === 'GET') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><head><title>Lavendly console</title></head></html>');
  if (path === '/v1/workflows' && req.method === 'POST') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"wf_1","name":"x","sce');
  if (path === '/v1/ledger') return void res.writeHead(502, { 'content-type': 'text/html' }).end(PAGE);
  if (path === '/v1/_status') return void res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
  if (path.startsWith('/v1/workflows/') && req.method === 'DELETE') return void res.writeHead(204).end();
  res.writeHead(500).end();
});

let client: Client;
let baseUrl: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}/v1`;
  const server = createMcpServer({ client: new Lavendly({ apiKey: 'lvd_test', baseUrl, maxRetries: 0 }) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  client = new Client({ name: 'foreign-api-test', version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  await client.listTools(); // the client now checks results against each tool's outputSchema
});

afterAll(async () => {
  await client?.close();
  await new Promise((resolve) => foreign.close(resolve));
});

async function call(name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { result, body: errorBody(result)!, size: JSON.stringify(result).length };
}

describe('tools in front of something that is not the API', () => {
  it('a 200 HTML page is an unexpected_response error naming the page and LAVENDLY_BASE_URL', async () => {
    const { result, body } = await call('list_workflows');
    expect(result.isError).toBe(true);
    expect(body.error).toMatchObject({ code: 'unexpected_response', status: 200, content_type: 'text/html' });
    expect(body.error.message).toContain(`The API at ${baseUrl} answered list_workflows with HTTP 200 and text/html: "Lavendly console"`);
    expect(body.next_step).toMatch(/LAVENDLY_BASE_URL .* ending in \/v1/);
  });

  it('cut-off JSON after an action: retry once (the automatic key makes that safe)', async () => {
    const { result, body } = await call('create_workflow', { name: 'x', shots: [{ prompt: 'p' }] });
    expect(result.isError).toBe(true);
    expect(body.error.message).toMatch(/application\/json that is not a JSON object \(cut off or malformed\)/);
    expect(body.next_step).toMatch(/^Retry once with the same arguments/);
  });

  it('an HTML error page is named by its title, not quoted whole', async () => {
    const { body, size } = await call('get_ledger');
    expect(body.error).toMatchObject({ code: 'http_502', status: 502, content_type: 'text/html' });
    expect(body.error.message).toBe(`The API at ${baseUrl} answered HTTP 502 with text/html instead of a Lavendly error: "502 Bad Gateway".`);
    expect(body.error.body).toBeUndefined();
    expect(size).toBeLessThan(3000);
  });

  it('a 404 page that is not the API says to check the base URL', async () => {
    const { body } = await call('get_status');
    expect(body.error.message).toMatch(/answered HTTP 404 with text\/html instead of a Lavendly error: "Not Found"/);
    expect(body.next_step).toMatch(/did not come from the Lavendly API: check that LAVENDLY_BASE_URL/);
  });

  it('resources: a page is not served as application/json, and an error page is named, not quoted', async () => {
    await expect(client.readResource({ uri: 'lavendly://workflows' })).rejects.toThrow(
      `Reading lavendly://workflows failed: the API at ${baseUrl} answered HTTP 200 with text/html: "Lavendly console", not JSON. Check that LAVENDLY_BASE_URL`,
    );
    const failed = await client.readResource({ uri: 'lavendly://ledger' }).catch((err: Error) => err);
    expect((failed as Error).message).toMatch(/Reading lavendly:\/\/ledger failed: The API at .* answered HTTP 502 with text\/html instead of a Lavendly error: "502 Bad Gateway"\.$/);
  });

  it('an empty 204 is still the answer of the tools that return nothing', async () => {
    const { result } = await call('delete_workflow', { id: 'wf_1' });
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual({ ok: true, status: 204 });
  });
});
