/**
 * What the generated SDKs put on the wire and read from it at the edges (test/fixtures/specs/
 * wire-edges.yaml), against a real listener that records each raw request. Before: the TypeScript
 * SDK dropped a JSON body field named `__proto__` without a word (`flat[key] = value` set no key),
 * both SDKs read a `Text/Plain` response as bytes, and the Python SDK sent a client-wide `Cookie`
 * header and an API key in a cookie as two Cookie headers (the server read only one of them), and
 * read a download's error envelope labelled `Application/JSON` as text (`http_404`, not its code).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintSpec } from '../../generator/lint.js';
import { SPECS, generateInto, runPython, scratchDir } from './helpers.js';

const SPEC = `${SPECS}/wire-edges.yaml`;

/** One request as it arrived: its path, raw header lines (name as sent) and body text. */
interface Recorded {
  url: string;
  rawHeaders: [string, string][];
  body: string;
}

const cookieLines = (r: Recorded | undefined) => (r?.rawHeaders ?? []).filter(([k]) => k.toLowerCase() === 'cookie').map(([, v]) => v);

describe('the generated SDKs at the wire\'s edges', () => {
  const dir = scratchDir('wire-edges');
  const out = path.join(dir, 'out');
  const recorded: Recorded[] = [];
  let server: Server;
  let base: string;

  beforeAll(async () => {
    await generateInto(SPEC, out, { packages: path.join(dir, 'packages') });
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const rawHeaders: [string, string][] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
        recorded.push({ url: req.url ?? '', rawHeaders, body });
        // Another team's server, which labels its text in capitals with a parameter (as RFC 9110 allows).
        if (req.url?.startsWith('/v1/text-caps')) res.writeHead(200, { 'content-type': 'Text/Plain; Charset=UTF-8' }).end('hello');
        else if (req.url?.startsWith('/v1/gone')) {
          res.writeHead(404, { 'content-type': 'Application/JSON; Charset=UTF-8' }).end('{"error":{"code":"not_found","message":"No such render."}}');
        }
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }, 120_000);
  afterAll(() => server?.close());

  it('lint: a JSON body property named __proto__, which the server refuses, is named by its pointer', async () => {
    const findings = (await lintSpec(SPEC, { spectral: false })).filter((f) => f.rule === 'lavendly/reserved-body-key');
    expect(findings.map((f) => [f.severity, f.pointer])).toEqual([
      ['warning', '#/paths/~1proto-json/post/requestBody/content/application~1json/schema/properties/__proto__'],
    ]);
    expect(findings[0]!.message).toMatch(/reserved_key/);
  });

  it('the TypeScript SDK sends a body field named __proto__ as given, reads Text/Plain as text, joins the cookies', async () => {
    const { Edges } = await import(pathToFileURL(path.join(out, 'sdk.gen.ts')).href);
    const c = new Edges({ baseUrl: base, maxRetries: 0, headers: { Cookie: 'a=1' }, credentials: { session: 's_1' } });
    recorded.length = 0;
    await c.default.protoJson({ name: 'Rex', ['__proto__']: 5 });
    expect(recorded[0]?.body).toBe('{"name":"Rex","__proto__":5}');
    expect(await c.default.textCaps()).toBe('hello');
    await c.default.withCookie();
    expect(recorded.map((r) => [r.url, cookieLines(r)])).toEqual([
      ['/v1/proto-json', ['a=1; sid=s_1']],
      ['/v1/text-caps', ['a=1; sid=s_1']],
      ['/v1/with-cookie', ['a=1; sid=s_1']],
    ]);
  });

  it('the Python SDK sends a body field named __proto__ as given, reads Text/Plain and Application/JSON, joins the cookies', async () => {
    const src = path.join(dir, 'packages', 'python', 'src');
    const script = [
      'import json, sys',
      'from edges import Edges',
      'c = Edges(base_url=sys.argv[1], max_retries=0, headers={"Cookie": "a=1"}, credentials={"session": "s_1"})',
      'c.default.proto_json(name="Rex", proto=5)',
      'out = [c.default.text_caps(), c.default.with_cookie()]',
      '# A download from the API\'s origin carries the client\'s headers and the document\'s credentials.',
      'with c.download(sys.argv[1] + "/with-cookie") as d:',
      '    out.append(b"".join(d.iter_bytes()).decode())',
      '# Its error envelope, labelled in capitals, is read as JSON: the API\'s code, not the status\'s.',
      'try:',
      '    with c.download(sys.argv[1] + "/gone") as d:',
      '        b"".join(d.iter_bytes())',
      'except Exception as e:',
      '    out.append(e.code)',
      'print(json.dumps(out))',
    ].join('\n');
    recorded.length = 0;
    const { status, stdout, stderr } = await runPython(src, script, [base]);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(Object.entries(JSON.parse(recorded[0]!.body))).toEqual([['name', 'Rex'], ['__proto__', 5]]);
    expect(JSON.parse(stdout)).toEqual(['hello', {}, '{}', 'not_found']);
    expect(recorded.map((r) => [r.url, cookieLines(r)])).toEqual([
      ['/v1/proto-json', ['a=1; sid=s_1']],
      ['/v1/text-caps', ['a=1; sid=s_1']],
      ['/v1/with-cookie', ['a=1; sid=s_1']],
      ['/v1/with-cookie', ['a=1; sid=s_1']],
      ['/v1/gone', ['a=1; sid=s_1']],
    ]);
  }, 60_000);
});
