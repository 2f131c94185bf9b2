/**
 * The Lavendly MCP server: the generated tool table (generated/mcp.gen.ts) served on the official
 * SDK's low-level `Server`, so the JSON Schemas go out exactly as generated. There is no per-tool
 * code: a call is checked against the tool's input schema, mapped onto its operation's HTTP
 * request by the tool's argument table, and sent through the generated SDK's generic `request`.
 * MCP, SDK and REST therefore cannot drift apart.
 *
 * This directory is @lavendly/mcp's source and also what the server's `/mcp` endpoint and
 * `lavendly mcp` run. It imports the generated SDK from generated/; the package build
 * (scripts/build-packages.ts) points those imports at the published @lavendly/sdk instead.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema, ErrorCode, GetPromptRequestSchema, ListPromptsRequestSchema, ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema, ListToolsRequestSchema, McpError, ReadResourceRequestSchema,
  type CallToolResult, type RequestId, type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { mcpTools, toolRequest, type McpToolDefinition } from '../../../generated/mcp.gen.js';
import { LavendlyError, type ApiClient, type ApiResponse } from '../../../generated/sdk-runtime.gen.js';
import { validatorFor } from './arguments.js';
import { answerInvalidParams } from './invalid-params.js';
import { CONFIRM_ARG, confirmCall } from './confirm.js';
import { apiErrorResult, errorResult, invalidArguments } from './errors.js';
import { foreignSuccess } from './foreign-answer.js';
import { mediaContent } from './media.js';
import { getPrompt, PROMPTS } from './prompts.js';
import { startProgress } from './progress.js';
import { listResources, readResource, RESOURCE_TEMPLATES } from './resources.js';

export interface McpServerOptions {
  /** The API client the tools call (`new Lavendly({ apiKey, baseUrl })`). */
  client: ApiClient<any>;
  /** The tools to serve; defaults to every generated tool. */
  tools?: readonly McpToolDefinition[];
  /**
   * Aborted when the server that holds this MCP server shuts down: a question still put to the
   * user is given up, and its call answered that nothing was done.
   */
  stopping?: AbortSignal;
}

const VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** Read once by the client at connect time: how the tools fit together. */
export const INSTRUCTIONS = `Lavendly makes short AI videos. The flow is create -> estimate -> generate -> review -> render -> publish:
create_workflow (shots in, scenes out), estimate_cost (state the price and wait for the user's go-ahead), generate_scene (the only step that spends credits; poll get_generation_status), quality_check and get_scene_frame per scene, create_render (free; poll get_render for the video URL), then list_channels and publish_video or schedule_video after the user confirms.
get_status tells which providers are wired; get_ledger shows the credits available. Pass an idempotency_key on calls that create or spend, and reuse it when you retry.
Errors come back as results with isError and a "Next step" line telling what to do.`;

/** The tool as `tools/list` gives it: name, title, description, schema and hints, nothing internal. */
export function listedTool(tool: McpToolDefinition): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema as Tool['inputSchema'],
    outputSchema: tool.outputSchema as Tool['outputSchema'],
    annotations: { title: tool.title, ...tool.annotations },
  };
}

/** Tool calls still running, per server: a stdio server whose input ended answers them before closing. */
const inFlight = new WeakMap<Server, { count: number; idle: (() => void)[] }>();

/** Resolves once no tool call of `server` is running. */
export function whenIdle(server: Server): Promise<void> {
  const state = inFlight.get(server);
  if (!state || state.count === 0) return Promise.resolve();
  return new Promise((resolve) => state.idle.push(resolve));
}

export function createMcpServer(options: McpServerOptions): Server {
  const tools = options.tools ?? mcpTools;
  const byName = new Map(tools.map((t) => [t.name, t]));
  const validator = validatorFor(tools);
  const { client } = options;
  const listed = tools.map(listedTool);

  const server = new Server(
    { name: 'lavendly', title: 'Lavendly', version: VERSION },
    { capabilities: { tools: {}, prompts: {}, resources: {}, logging: {} }, instructions: INSTRUCTIONS },
  );

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: listed }));
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: PROMPTS }));
  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    const prompt = getPrompt(request.params.name, request.params.arguments);
    if (!prompt) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt '${request.params.name}'. prompts/list gives the prompts this server has.`);
    return prompt;
  });
  server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => ({ resources: await listResources(client, extra.signal) }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: RESOURCE_TEMPLATES }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => readResource(client, request.params.uri, extra.signal));

  const state = { count: 0, idle: [] as (() => void)[] };
  inFlight.set(server, state);
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    state.count++;
    const progress = startProgress(extra, request.params.name, request.params.arguments?.wait_s);
    try {
      return await callTool(request.params.name, request.params.arguments, extra.signal, extra.requestId);
    } finally {
      progress?.stop();
      if (--state.count === 0) for (const resolve of state.idle.splice(0)) resolve();
    }
  });

  async function callTool(name: string, input: Record<string, unknown> | undefined, signal: AbortSignal, requestId?: RequestId): Promise<CallToolResult> {
    const tool = byName.get(name);
    if (!tool) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool '${name}'. tools/list gives the ${tools.length} tools this server has.`);
    }
    const given = input ?? {};
    const issues = validator.check(tool, given);
    if (issues.length) return invalidArguments(tool, issues);
    const refused = await confirmCall(server, client, tool, given, { signal, stopping: options.stopping }, requestId);
    if (refused) return refused;
    // `confirm` is this server's own argument: it is not sent, nor part of the automatic key.
    // The tool's own defaults (a frame's size for a model to look at) fill what was left out.
    const { [CONFIRM_ARG]: _confirmed, ...passed } = given;
    const args = { ...tool.defaults, ...passed };
    // idempotency_key is in the tool's argument table as the Idempotency-Key header.
    const automatic = tool.args.idempotency_key && args.idempotency_key === undefined ? automaticKey(tool, args) : null;
    const send = (key: string | null) => client.requestWithResponse(tool.operationId, toolRequest(tool, key ? { ...args, idempotency_key: key } : args), { signal });
    const pollTool = pollToolOf(client, tool, tools);
    let response: ApiResponse;
    try {
      response = await send(automatic).catch((err: unknown) => {
        // A refusal (4xx) changed nothing, but the server replays it for the same key: an
        // automatic key must not pin an agent to an old refusal once the cause is fixed.
        if (automatic && err instanceof LavendlyError && err.status >= 400 && err.status < 500 && err.headers?.get('idempotent-replayed') === 'true') {
          return send(`${automatic}.${Date.now().toString(36)}`);
        }
        throw err;
      });
    } catch (err) {
      const result = apiErrorResult(err, { tool, tools, pollTool, baseUrl: client.baseUrl });
      // Clients that asked for logs see failed calls in their log view too.
      void server.sendLoggingMessage({ level: 'warning', logger: 'lavendly', data: `${tool.name} failed: ${(result.content[0] as { text: string }).text}` }).catch(() => {});
      return result;
    }
    // A page or text where the API's JSON belongs: an error that says so, not a result without the structured content the outputSchema promises.
    const foreign = foreignSuccess(tool, response, client.baseUrl);
    if (foreign) return errorResult(foreign);
    const result = successResult(response);
    const media = await mediaContent(response.body, signal);
    if (media.length) result.content.push(...media);
    return result;
  }

  answerInvalidParams(server);
  return server;
}

/**
 * The key a call gets when the agent passed none: the tool and its arguments, hashed. Identical
 * calls within the server's idempotency window then act once (two identical publish_video calls
 * make one post), which is what the tools' idempotentHint promises.
 */
export function automaticKey(tool: McpToolDefinition, args: Record<string, unknown>): string {
  const hash = createHash('sha256').update(tool.name).update('\0').update(canonicalJson(args)).digest('base64url');
  return `mcp-auto-${hash}`;
}

/** JSON with object keys sorted, so argument order does not change the key. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The tool that polls this tool's job (from the operation's `x-async-job`), when this server has it. */
function pollToolOf(client: ApiClient<any>, tool: McpToolDefinition, tools: readonly McpToolDefinition[]): string | null {
  const poll = client.operation(tool.operationId).asyncJob?.poll;
  return poll ? (tools.find((t) => t.operationId === poll)?.name ?? null) : null;
}

/** The response body as JSON text, and as structured content when it is an object. */
export function successResult(response: ApiResponse): CallToolResult {
  const { body, status } = response;
  if (body === undefined || body === null || body === '') {
    return { content: [{ type: 'text', text: JSON.stringify({ ok: true, status }) }], structuredContent: { ok: true, status } };
  }
  if (typeof body === 'string') return { content: [{ type: 'text', text: body }] };
  if (typeof Blob !== 'undefined' && body instanceof Blob) {
    return { content: [{ type: 'text', text: `The operation answered ${body.size} bytes of ${body.type || 'binary data'}, which is not shown here.` }] };
  }
  const result: CallToolResult = { content: [{ type: 'text', text: JSON.stringify(body) }] };
  if (typeof body === 'object' && !Array.isArray(body)) result.structuredContent = body as Record<string, unknown>;
  return result;
}
