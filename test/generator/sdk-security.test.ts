/**
 * The generated TypeScript SDK sends each security scheme of a spec (test/fixtures/specs/
 * security.yaml) the way it is declared, and only to the operations that require it: an API key
 * in a header, the query or a cookie, HTTP Basic, Bearer; the document's default requirement,
 * overrides, a public operation, alternatives, two schemes at once, an optional credential. A
 * real listener echoes what each request carried. Credentials never reach another origin (a
 * redirect, a download link) and a query key never shows in an error message; a value that would
 * break a header is refused before anything is sent. The `credentials` option is typed by the
 * spec's schemes under the strictest consumer tsconfig.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialEcho, type Received, startCredentialEcho } from '../helpers/credential-echo.js';
import { generateInto, SPECS, scratchDir, typecheck } from './helpers.js';

const STRICTEST = {
  module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'],
  exactOptionalPropertyTypes: true, noPropertyAccessFromIndexSignature: true, noImplicitOverride: true,
  noUnusedLocals: true, noUnusedParameters: true, noImplicitReturns: true, noFallthroughCasesInSwitch: true, verbatimModuleSyntax: true,
};

/** What the test uses of the generated sdk.gen.ts (imported at run time from the scratch dir). */
interface VaultClient {
  call(operationId: string, params?: Record<string, unknown>): Promise<unknown>;
}
interface Sdk {
  Vault: new (options: Record<string, unknown>) => VaultClient;
  download(client: VaultClient, url: string): Promise<{ body: ReadableStream<Uint8Array> }>;
}
let root: string;
let sdk: Sdk;
let echo: CredentialEcho;

beforeAll(async () => {
  root = scratchDir('sdk-security');
  await generateInto(`${SPECS}/security.yaml`, path.join(root, 'gen'), { only: ['sdk'], packages: path.join(root, 'packages') });
  sdk = (await import(pathToFileURL(path.join(root, 'gen', 'sdk.gen.ts')).href)) as Sdk;
  echo = await startCredentialEcho();
}, 120_000);
afterAll(() => echo?.close());

const PASSWORD = 'p:ss wörd';
const QUERY_KEY = 'q k&=/é+%';
const CREDENTIALS = {
  ApiKeyHeader: 'hk_1',
  ApiKeyQuery: QUERY_KEY,
  ApiKeyCookie: 'ck_1',
  basicAuth: { username: 'AC123', password: PASSWORD },
};
const BASIC = `Basic ${Buffer.from(`AC123:${PASSWORD}`, 'utf8').toString('base64')}`;
const NONE = { authorization: null, apiKey: null, cookie: null };

function client(options: Record<string, unknown>): VaultClient {
  return new sdk.Vault({ baseUrl: `${echo.api}/v1`, maxRetries: 0, ...options });
}

async function seen(c: VaultClient, op: string, params: Record<string, unknown> = {}): Promise<Partial<Received>> {
  const got = (await c.call(op, params)) as Received;
  return { authorization: got.authorization, apiKey: got.apiKey, cookie: got.cookie, query: got.query };
}

describe('the generated TypeScript SDK sending credentials', () => {
  it('sends each operation exactly what its security requirement names', async () => {
    const c = client({ apiKey: 'bt_1', credentials: CREDENTIALS });
    expect(await seen(c, 'getDefault')).toEqual({ ...NONE, apiKey: 'hk_1', query: {} });
    expect(await seen(c, 'getPublic')).toEqual({ ...NONE, query: {} });
    expect(await seen(c, 'getQuery', { q: 'x' })).toEqual({ ...NONE, query: { q: 'x', api_key: QUERY_KEY } });
    expect(await seen(c, 'getCookie')).toEqual({ ...NONE, cookie: 'session=ck_1', query: {} });
    expect(await seen(c, 'getBasic')).toEqual({ ...NONE, authorization: BASIC, query: {} });
    expect(await seen(c, 'getBoth')).toEqual({ ...NONE, apiKey: 'hk_1', query: { api_key: QUERY_KEY } });
    // Digest (first) cannot be sent; Basic, the next alternative, is held.
    expect(await seen(c, 'getEither')).toEqual({ ...NONE, authorization: BASIC, query: {} });
    expect(await seen(c, 'getBearer')).toEqual({ ...NONE, authorization: 'Bearer bt_1', query: {} });
    // `[{}, {ApiKeyCookie: []}]`: the credential is sent when held.
    expect(await seen(c, 'getOptional')).toEqual({ ...NONE, cookie: 'session=ck_1', query: {} });
    // The query key is URL-encoded, not pasted raw.
    const raw = echo.apiSeen.find((r) => r.path === '/v1/query')!.rawQuery;
    expect(raw).toBe(`q=x&${new URLSearchParams({ api_key: QUERY_KEY })}`);
    expect(raw).not.toContain(' ');
  });

  it('with only apiKey, sends Bearer where a bearer scheme is an alternative and nothing where none can be met', async () => {
    const c = client({ apiKey: 'bt_2' });
    expect(await seen(c, 'getEither')).toEqual({ ...NONE, authorization: 'Bearer bt_2', query: {} });
    expect(await seen(c, 'getBearer')).toEqual({ ...NONE, authorization: 'Bearer bt_2', query: {} });
    expect(await seen(c, 'getDefault')).toEqual({ ...NONE, query: {} });
    expect(await seen(c, 'getOptional')).toEqual({ ...NONE, query: {} });
    // A bearer scheme's own entry in credentials wins over apiKey.
    expect(await seen(client({ apiKey: 'bt_2', credentials: { bearerAuth: 'bt_3' } }), 'getBearer')).toMatchObject({ authorization: 'Bearer bt_3' });
  });

  it('refuses a credential that would break the request, before sending anything', async () => {
    const before = echo.apiSeen.length;
    const refused = async (credentials: Record<string, unknown>, op: string, message: RegExp) => {
      const err = await client({ credentials }).call(op).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(message);
      // The message names the scheme, never the value.
      expect((err as Error).message).not.toContain('evil');
    };
    await refused({ ApiKeyHeader: 'k\r\nX-Injected: evil' }, 'getDefault', /ApiKeyHeader: a CR, LF or NUL/);
    await refused({ ApiKeyQuery: 'k\nevil' }, 'getQuery', /ApiKeyQuery: a CR, LF or NUL/);
    await refused({ ApiKeyCookie: 'k; admin=evil' }, 'getCookie', /ApiKeyCookie: a cookie value cannot hold/);
    await refused({ basicAuth: { username: 'a:evil', password: 'p' } }, 'getBasic', /basicAuth: a Basic username cannot contain ':'/);
    await refused({ basicAuth: { username: 'a', password: 'evil\n' } }, 'getBasic', /basicAuth: a control character/);
    await refused({ basicAuth: 'a:evil' }, 'getBasic', /basicAuth: HTTP Basic takes \{ username, password \}/);
    expect(echo.apiSeen.length).toBe(before);
  });

  it('keeps credentials off other origins and query keys out of error messages', async () => {
    const c = client({ apiKey: 'bt_4', credentials: CREDENTIALS });
    // A redirect is not followed: nothing reaches the other origin.
    const redirected = (await c.call('getQuery', { q: 'redirect' }).catch((e: unknown) => e)) as Error;
    expect(redirected).toMatchObject({ status: 307 });
    expect(redirected.message).toMatch(/which the SDK does not follow/);
    expect(echo.elsewhereSeen).toEqual([]);
    // A server error and a refused connection: the message shows the URL without its query.
    const failed = (await c.call('getQuery', { q: 'fail' }).catch((e: unknown) => e)) as Error;
    expect(failed).toMatchObject({ status: 500 });
    const down = (await new sdk.Vault({ baseUrl: `${echo.closed}/v1`, maxRetries: 0, credentials: CREDENTIALS }).call('getBoth').catch((e: unknown) => e)) as Error;
    expect(down).toMatchObject({ code: 'connection_error' });
    for (const err of [redirected, failed, down]) {
      expect(`${err.message} ${JSON.stringify(err)}`).not.toMatch(/api_key|hk_1|q(\+|%20| )k/);
    }
    // A download from the API's origin carries the document's default credential (a header, never
    // the query key); a link elsewhere, or the API's link redirected elsewhere, carries none.
    await (await sdk.download(c, `${echo.api}/v1/files/a?sig=1`)).body.cancel();
    expect(echo.apiSeen.at(-1)).toMatchObject({ path: '/v1/files/a', query: { sig: '1' }, apiKey: 'hk_1', authorization: null, cookie: null });
    await (await sdk.download(c, `${echo.elsewhere}/file`)).body.cancel();
    await (await sdk.download(c, `${echo.api}/v1/files/away`)).body.cancel();
    expect(echo.elsewhereSeen).toEqual([
      { path: '/file', rawQuery: '', query: {}, ...NONE },
      { path: '/stolen', rawQuery: '', query: {}, ...NONE },
    ]);
  });

  it('refuses credentials for a spec whose schemes are all Bearer (our own), rather than ignoring them', async () => {
    const { Lavendly } = await import('../../generated/sdk.gen.js');
    expect(() => new Lavendly({ credentials: { bearerAuth: 'k' } })).toThrow(/declares no security scheme but Bearer, which takes apiKey/);
    expect(new Lavendly({ apiKey: 'k', credentials: {} }).baseUrl).toBeTruthy();
  });

  it('types credentials by the spec\'s schemes under the strictest consumer tsconfig', () => {
    const consumer = path.join(root, 'consumer');
    mkdirSync(consumer, { recursive: true });
    writeFileSync(path.join(consumer, 'use.ts'), [
      "import { Vault, type VaultCredentials } from '../gen/sdk.gen.js';",
      "const credentials: VaultCredentials = { ApiKeyHeader: 'k', basicAuth: { username: 'AC1', password: 'p' } };",
      "export const ok = new Vault({ apiKey: 'b', credentials });",
      '// @ts-expect-error a scheme the spec does not declare',
      "export const typo = new Vault({ credentials: { ApiKeyHeadr: 'k' } });",
      '// @ts-expect-error HTTP Basic takes a username and a password',
      "export const basic = new Vault({ credentials: { basicAuth: 'AC1:p' } });",
      '// @ts-expect-error an API key is a string',
      'export const key = new Vault({ credentials: { ApiKeyQuery: 1 } });',
      '',
    ].join('\n'));
    const { ok, output } = typecheck([path.join(root, 'gen'), consumer], 'sdk-security', STRICTEST);
    expect(output).toBe('');
    expect(ok).toBe(true);
  });
});
