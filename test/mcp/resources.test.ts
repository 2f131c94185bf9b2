/**
 * Workflows, renders and the ledger as MCP resources, read through the official client over
 * stdio and Streamable HTTP; each resource holds what the matching API operation answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createWorkflow, useSmallClips } from '../renders/helpers.js';
import { connect, type Connected, type TransportKind } from './helpers.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('sqlite');
  useSmallClips(server);
});
afterAll(async () => {
  await server?.close();
});

async function api(path: string, key: string) {
  const res = await fetch(`${server.base}${path}`, { headers: { Authorization: `Bearer ${key}` } });
  return res.json();
}

describe.each<TransportKind>(['http', 'stdio'])('resources over %s', (kind) => {
  let conn: Connected;
  let key: string;
  let wf: { id: string };

  beforeAll(async () => {
    ({ key } = await server.account({ credits: 40, name: `resources ${kind}` }));
    wf = await createWorkflow(server, key, [1, 1]);
    conn = await connect(kind, server, key);
  });
  afterAll(async () => {
    await conn?.close();
  });

  it('declares the capability, lists the ledger, workflows, renders and each workflow, and the templates', async () => {
    expect(conn.client.getServerCapabilities()?.resources).toBeDefined();
    const { resources } = await conn.client.listResources();
    const uris = resources.map((r) => r.uri);
    expect(uris).toEqual(expect.arrayContaining(['lavendly://ledger', 'lavendly://workflows', 'lavendly://renders', `lavendly://workflows/${wf.id}`]));
    for (const r of resources) expect(r.mimeType, r.uri).toBe('application/json');
    const { resourceTemplates } = await conn.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      'lavendly://workflows/{id}', 'lavendly://workflows/{id}/renders', 'lavendly://workflows/{id}/renders/{job_id}',
    ]);
  });

  it('reads each resource as the JSON the API answers', async () => {
    const read = async (uri: string) => {
      const { contents } = await conn.client.readResource({ uri });
      expect(contents).toHaveLength(1);
      expect(contents[0]!.uri).toBe(uri);
      expect(contents[0]!.mimeType).toBe('application/json');
      return JSON.parse((contents[0] as { text: string }).text);
    };
    const ledger = await read('lavendly://ledger');
    expect(ledger).toMatchObject({ balance: 40, available: 40, time_zone: expect.any(String) });
    const workflow = await read(`lavendly://workflows/${wf.id}`);
    expect(workflow).toEqual(await api(`/workflows/${wf.id}`, key));
    expect(workflow.scenes).toHaveLength(2);
    expect((await read('lavendly://workflows')).data.map((w: any) => w.id)).toContain(wf.id);
    expect(await read(`lavendly://workflows/${wf.id}/renders`)).toMatchObject({ data: [] });
    expect(await read('lavendly://renders')).toMatchObject({ data: [] });
  });

  it('answers resource-not-found (-32002) for an unknown workflow, render or URI', async () => {
    for (const uri of ['lavendly://workflows/wf_doesnotexist', `lavendly://workflows/${wf.id}/renders/rnd_nothere`, 'lavendly://coffee', 'https://example.com/x']) {
      const err = await conn.client.readResource({ uri }).then(() => null, (e: unknown) => e);
      expect(err, uri).toBeInstanceOf(McpError);
      expect((err as McpError).code, uri).toBe(-32002);
      expect((err as McpError).message, uri).toContain(uri);
    }
  });
});
