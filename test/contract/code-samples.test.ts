/**
 * The served spec (GET /v1/openapi.json, which /docs renders) carries generated code samples for
 * every operation (curl, TypeScript with @lavendly/sdk, Python with lavendly), and its `servers`
 * URL, like the URLs in the samples, is the server's public URL (LAVENDLY_PUBLIC_URL, read by
 * src/config.ts). Running a Python sample against a live server is in test/python.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { loadSpec, specOperations } from './prism.js';

const PUBLIC = 'https://api.example.test';
let server: TestServer;
let served: any;

beforeAll(async () => {
  const { publicBaseUrl } = loadConfig({ LAVENDLY_PUBLIC_URL: PUBLIC });
  server = await startTestServer('sqlite', { config: { publicBaseUrl } });
  served = await (await fetch(`${server.base}/openapi.json`)).json();
});
afterAll(() => server?.close());

const sample = (method: string, path: string, label: string): string =>
  served.paths[path][method]['x-codeSamples'].find((s: { label: string }) => s.label === label).source;

describe('code samples in the served spec', () => {
  it('names the public URL in servers', () => {
    expect(served.servers).toHaveLength(1);
    expect(served.servers[0].url).toBe(`${PUBLIC}/v1`);
  });

  it('gives every operation a curl, a TypeScript and a Python sample', () => {
    for (const o of specOperations(loadSpec())) {
      const samples = served.paths[o.path][o.method]['x-codeSamples'];
      expect(samples.map((s: { lang: string; label: string }) => `${s.lang}/${s.label}`), o.operationId).toEqual(['Shell/curl', 'TypeScript/TypeScript', 'Python/Python']);
      for (const s of samples) expect(s.source, `${o.operationId} ${s.label}`).not.toContain('localhost:8090');
    }
  });

  it('samples call the operation with the spec\'s examples, in each SDK\'s own names', () => {
    const curl = sample('post', '/workflows', 'curl');
    expect(curl).toMatch(/^curl -X POST 'https:\/\/api\.example\.test\/v1\/workflows'/);
    expect(curl).toContain('-H "Authorization: Bearer $LAVENDLY_API_KEY"');
    expect(curl).toContain('-H "Idempotency-Key: $(uuidgen)"');
    expect(JSON.parse(/-d '(.*)'$/s.exec(curl)![1]!).name).toBe('Bookshop fox');

    const ts = sample('post', '/workflows', 'TypeScript');
    expect(ts).toContain("import { Lavendly } from '@lavendly/sdk';");
    expect(ts).toContain(`baseUrl: '${PUBLIC}/v1'`);
    expect(ts).toContain("await client.workflows.create({ name: 'Bookshop fox'");

    const py = sample('post', '/workflows', 'Python');
    expect(py).toContain('from lavendly import Lavendly');
    expect(py).toContain(`base_url="${PUBLIC}/v1"`);
    expect(py).toContain('client.workflows.create(name="Bookshop fox"');

    // Path parameters: positional in Python, named in TypeScript; async jobs are waited for.
    expect(sample('post', '/workflows/{id}/generate', 'Python')).toMatch(/job = client\.generate\.start\("wf_\w+"\)\nprint\(client\.generate\.wait_for_generate_scene\(job\)\)$/);
    expect(sample('post', '/workflows/{id}/generate', 'TypeScript')).toMatch(/await client\.generate\.waitForGenerateScene\(job\)/);
    expect(sample('get', '/workflows/{id}', 'curl')).toMatch(/^curl 'https:\/\/api\.example\.test\/v1\/workflows\/wf_\w+'/);
    // Lists iterate every item of every page.
    expect(sample('get', '/workflows', 'Python')).toMatch(/for item in client\.workflows\.list\(\):\n {4}print\(item\)$/);
  });
});
