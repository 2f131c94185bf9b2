/**
 * sdk-api.gen.md: an index of the generated SDK's surface (every method of every group, every
 * exported type, the webhook events and the runtime's helpers), the way the best generated SDKs
 * ship an `api.md`. The sdk emitter describes what it wrote (SdkSurface); this module renders it.
 * The @lavendly/sdk package ships it as `api.md`.
 */

export interface SdkMethodDoc {
  name: string;
  /** `(params: X, options?: RequestOptions)` */
  parameters: string;
  returns: string;
  /** `GET /workflows` */
  http: string;
  summary?: string;
}

export interface SdkGroupDoc {
  /** Property on the client: `workflows`. */
  prop: string;
  tag: string;
  description?: string;
  methods: SdkMethodDoc[];
}

export interface SdkSurface {
  title: string;
  clientName: string;
  envPrefix: string;
  serverUrl: string;
  groups: SdkGroupDoc[];
  /** Component schema types re-exported by the SDK. */
  schemaTypes: string[];
  /** Per operation: its params and response type names. */
  operationTypes: { operationId: string; params: string; response: string }[];
  webhookUnion: string;
  /** Event name -> body type. */
  webhookEvents: { name: string; type: string; summary?: string }[];
  /** Names the runtime exports (errors, pagination, client options, ...). */
  runtimeExports: string[];
  /** For a spec with other schemes than Bearer: the `credentials` option's type and its entries. */
  credentials?: { type: string; schemes: { name: string; value: string; sentAs: string }[] };
}

/** The code-generation banner as a Markdown comment. */
export function markdownBanner(codeBanner: string): string {
  const lines = codeBanner.split('\n').filter((l) => l.startsWith('// ') && !/^\/\/ -+$/.test(l)).map((l) => l.slice(3));
  return `<!--\n${lines.join('\n')}\n-->\n`;
}

function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
}

function code(text: string): string {
  return `\`${text.replace(/\|/g, '\\|')}\``;
}

export function renderSdkApiDoc(s: SdkSurface, banner: string): string {
  const out: string[] = [markdownBanner(banner)];
  const c = s.clientName.charAt(0).toLowerCase() + s.clientName.slice(1);
  out.push(`# ${s.title || s.clientName}: SDK reference`, '');
  out.push(
    `Every method and type of the generated TypeScript SDK. \`const ${c} = new ${s.clientName}({ apiKey, baseUrl })\`: ` +
      `\`apiKey\` and \`baseUrl\` default to the \`${s.envPrefix}_API_KEY\` and \`${s.envPrefix}_BASE_URL\` environment variables ` +
      `(where there is one), \`baseUrl\` then to \`${s.serverUrl}\`. Every method also takes an optional last argument ` +
      '`options?: RequestOptions` (`idempotencyKey`, `signal`, `headers`, `timeout`, `maxRetries`).',
    '',
  );
  if (s.credentials) {
    out.push(
      '## Credentials', '',
      `\`new ${s.clientName}({ credentials: { ... } })\` (type \`${s.credentials.type}\`), keyed by the spec's security schemes. ` +
        'Each method sends the credentials of the first alternative of its security requirement that you gave all of, ' +
        'and nothing to a public operation; a bearer scheme defaults to `apiKey`. Credentials go to the API\'s origin only.',
      '', '| scheme | value | sent as |', '|---|---|---|',
      ...s.credentials.schemes.map((x) => `| ${code(x.name)} | ${code(x.value)} | ${x.sentAs} |`),
      '',
    );
  }
  for (const g of s.groups) {
    out.push(`## ${g.tag} (\`${c}.${g.prop}\`)`, '');
    if (g.description) out.push(oneLine(g.description), '');
    out.push('| method | HTTP | resolves to | what it does |', '|---|---|---|---|');
    for (const m of g.methods) {
      out.push(`| ${code(`${c}.${g.prop}.${m.name}${m.parameters}`)} | ${code(m.http)} | ${code(m.returns)} | ${oneLine(m.summary)} |`);
    }
    out.push('');
  }
  out.push('## Generic calls', '');
  out.push(
    `| ${code(`${c}.request(operationId, { path, query, headers, body }, options?)`)} | any operation by id, structured input |`,
    '|---|---|',
    `| ${code(`${c}.call(operationId, params, options?)`)} | any operation by id, flattened params |`,
    `| ${code(`${c}.paginate(operationId, params, options?)`)} | a PagePromise over a cursor-paginated list |`,
    `| ${code(`${c}.requestWithResponse(operationId, parts, options?)`)} | status, headers, body and request id |`,
    '',
    '## Downloads',
    '',
    `A \`url\` the API returns for a file it serves is downloaded with the API key sent only to the API's own origin, never to a store's presigned link; a dropped connection is resumed with Range where the server allows it. ` +
      `Both are functions imported beside the client (\`import { downloadFile } from ...\`), not methods, so a bundle that never downloads leaves their code out.`,
    '',
    `| ${code(`downloadFile(${c}, url, path, { overwrite?, signal?, timeout?, maxRetries? })`)} | Node: streams to a temporary file beside \`path\`, renamed into place once complete; resolves to \`{ path, bytes, contentType }\` |`,
    '|---|---|',
    `| ${code(`download(${c}, url, options?)`)} | any runtime: resolves to \`{ body, size, contentType, headers }\`, \`body\` a ReadableStream |`,
    '',
  );
  out.push('## Webhooks', '');
  out.push(
    `${code('verifyWebhook(payload, headers, secret, options?)')} checks the Standard Webhooks signature and resolves to ` +
      `${code(s.webhookUnion)}; narrow it on \`event.type\`.`,
    '',
  );
  if (s.webhookEvents.length) {
    out.push('| event `type` | body type | when |', '|---|---|---|');
    for (const e of s.webhookEvents) out.push(`| ${code(e.name)} | ${code(e.type)} | ${oneLine(e.summary)} |`);
    out.push('');
  }
  out.push('## Operation types', '', '| operation | params | resolves to |', '|---|---|---|');
  for (const o of s.operationTypes) out.push(`| ${code(o.operationId)} | ${code(o.params)} | ${code(o.response)} |`);
  out.push('');
  out.push('## Schema types', '', s.schemaTypes.map((t) => code(t)).join(', '), '');
  out.push('## Runtime', '', 'Errors, pagination, options and helpers shared by every generated SDK:', '');
  out.push(s.runtimeExports.map((t) => code(t)).join(', '), '');
  return out.join('\n');
}
