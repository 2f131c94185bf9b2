/**
 * API errors -> MCP tool results. A model reads these, so each one carries the envelope (code,
 * message, request id and the code's details) and one concrete next step, phrased in terms of
 * the tools it has. Guidance is chosen by error code (then by HTTP status for codes we do not
 * know), and names tools only when this server actually has them. The switch in nextStep covers
 * every code of the spec's ErrorCode schema: a code added there fails to compile here until handled.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { McpToolDefinition } from '../../../generated/mcp.gen.js';
import type { ErrorCode } from '../../../generated/sdk.gen.js';
import { LavendlyError, retryAfterMs } from '../../../generated/sdk-runtime.gen.js';
import { formatPath, type ArgumentIssue } from './arguments.js';
import { foreignError, foreignSuccess, refusedSuccess } from './foreign-answer.js';

export interface ErrorContext {
  tool: McpToolDefinition;
  /** Every tool this server serves (to name only tools that exist). */
  tools: readonly McpToolDefinition[];
  /** The tool that polls the called tool's job, when the operation is asynchronous. */
  pollTool: string | null;
  baseUrl: string;
}

export interface ToolErrorBody {
  error: { code: string; message: string; status: number; request_id: string | null; [detail: string]: unknown };
  next_step: string;
}

export function errorResult(body: ToolErrorBody): CallToolResult {
  const { error, next_step } = body;
  const head = `Error ${error.code}${error.status ? ` (HTTP ${error.status})` : ''}: ${error.message}`;
  // No structuredContent: it must match the tool's outputSchema (the success shape), and the
  // official client checks that even on errors. The envelope goes out as a second, JSON-only block.
  return {
    isError: true,
    content: [
      { type: 'text', text: `${head}\nNext step: ${next_step}` },
      { type: 'text', text: JSON.stringify(body) },
    ],
  };
}

/** Arguments that failed the tool's input schema: nothing was sent. */
export function invalidArguments(tool: McpToolDefinition, issues: ArgumentIssue[]): CallToolResult {
  const named = [...new Set(issues.map((i) => i.argument).filter((a): a is string => a !== null))];
  const quoted = named.map((n) => `'${n}'`).join(', ');
  const label = named.length === 0 ? 'Invalid arguments' : named.length === 1 ? `Invalid argument ${quoted}` : `Invalid arguments ${quoted}`;
  const message = `${label}: ${issues.map((i) => i.message).join(' ')}`;
  const redirect = issues.find((i) => i.use);
  const next_step = redirect
    ? `Nothing was sent. ${tool.name} does not take '${redirect.argument}': call ${redirect.use} instead (it takes '${redirect.argument}'), or call ${tool.name} again without it.`
    : `Nothing was sent. Fix ${quoted || 'the arguments'} as described and call ${tool.name} again.`;
  return errorResult({
    error: { code: 'validation_error', message, status: 0, request_id: null, arguments: named, issues: { arguments: issues } },
    next_step,
  });
}

/** Anything the SDK threw while calling the operation. */
export function apiErrorResult(err: unknown, ctx: ErrorContext): CallToolResult {
  if (!(err instanceof LavendlyError)) {
    const message = err instanceof Error ? err.message : String(err);
    return errorResult({
      error: { code: 'client_error', message, status: 0, request_id: null },
      next_step: 'The call could not be made. Check the arguments; if it keeps failing, tell the user.',
    });
  }
  // A page where the API's JSON belongs: say what answered and what to check.
  const refused = refusedSuccess(err);
  const foreignBody = refused && foreignSuccess(ctx.tool, refused, ctx.baseUrl);
  if (foreignBody) return errorResult(foreignBody);
  // An error page from something else than the API (a proxy, a wrong base URL) is named, not quoted whole.
  const foreign = foreignError(err.code, err.status, err.headers, err.details, ctx.baseUrl);
  const error = { code: err.code, message: foreign?.message ?? err.message, status: err.status, request_id: err.requestId, ...(foreign?.details ?? err.details) };
  return errorResult({ error, next_step: nextStep(err, ctx) + (foreign?.hint ?? '') });
}

function has(ctx: ErrorContext, name: string): boolean {
  return ctx.tools.some((t) => t.name === name);
}

/** `a` if the server has it, else the first of the others it has, else null. */
function pick(ctx: ErrorContext, ...names: string[]): string | null {
  return names.find((n) => has(ctx, n)) ?? null;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Codes the SDK sets itself when no HTTP response arrived. */
type ClientCode = 'connection_error' | 'timeout';

function nextStep(err: LavendlyError, ctx: ErrorContext): string {
  const d = err.details;
  const t = ctx.tool.name;
  const retrySame = ctx.tool.args.idempotency_key ? ' with the same idempotency_key' : '';
  const code = err.code as ErrorCode | ClientCode;
  switch (code) {
    case 'validation_error':
    case 'invalid_cursor':
      return validationStep(err, ctx);
    case 'invalid_idempotency_key':
      return 'Pass a different idempotency_key: 1 to 255 printable ASCII characters, unique for this action.';
    case 'unauthorized':
      return 'The API key is missing, unknown or revoked. An agent cannot fix this: ask the user to set a valid key (LAVENDLY_API_KEY for the stdio server, or the Authorization: Bearer header for the HTTP server) in the MCP client configuration.';
    case 'forbidden': {
      const scopes = Array.isArray(d.required_scopes) ? d.required_scopes.join(', ') : null;
      return `This key may not call ${t}${scopes ? ` (it needs the scope ${scopes})` : ''}. Tell the user; do not retry.`;
    }
    case 'insufficient_credits': {
      const needed = num(d.needed);
      const available = num(d.available);
      const figures = needed !== undefined && available !== undefined ? `It needs ${needed} credits and ${available} are available. ` : '';
      const estimate = pick(ctx, 'estimate_cost');
      return `${figures}Nothing was charged. ${estimate ? `Call ${estimate} to see the price per scene, then ` : ''}tell the user: they can add credits, or you can spend less by generating fewer scenes (pass node_id to generate one scene at a time, or remove shots with update_workflow).`;
    }
    case 'max_credits_exceeded': {
      const needed = num(d.needed);
      return `Nothing was reserved: rendering first has to generate scenes${needed !== undefined ? ` for ${needed} credits` : ''}, more than max_credits allows. Tell the user the price; if they agree, call ${t} again with max_credits${needed !== undefined ? ` = ${needed}` : ' at least that price'}. Or generate the scenes with generate_scene first, then render for free.`;
    }
    case 'not_found':
      return notFoundStep(err, ctx);
    case 'idempotency_key_reused':
      return 'This idempotency_key was already used for a different request. Use a new idempotency_key for a new action; reuse a key only to retry the exact same call.';
    case 'idempotency_key_in_progress':
      return `The first call with this idempotency_key is still running. Wait ${waitSeconds(err) ?? 'a few'} seconds and call ${t} again with the same arguments and the same idempotency_key.`;
    case 'workflow_busy':
    case 'generation_in_progress':
    case 'render_in_progress':
    case 'conflict':
      return busyStep(err, ctx);
    case 'nothing_to_generate':
      return `Every scene already has a clip, so nothing was generated or charged. Render with ${pick(ctx, 'create_render') ?? 'a render'} (free), or pass node_id to regenerate one scene.`;
    case 'not_generated':
      return `The scenes are not generated yet. Call ${pick(ctx, 'estimate_cost') ?? 'the cost estimate'}, get the user's go-ahead, call generate_scene, and poll get_generation_status until every scene has landed; then try ${t} again.`;
    case 'no_finished_render':
      return `There is no finished video yet. Call create_render (free), poll get_render until its status is succeeded, then call ${t} again.`;
    case 'not_cancelable':
      return 'It has already finished and can no longer be changed. Read its current state instead.';
    case 'precondition_failed':
      return `The workflow changed since you read it${num(d.current_version) !== undefined ? ` (it is now at version ${d.current_version})` : ''}. Call get_workflow, re-apply your change to the current version, and call ${t} again with that version.`;
    case 'schedule_in_past':
      return 'Pick a `when` in the future, as ISO 8601 with a time zone offset (for example 2026-01-15T09:00:00-05:00), and call again.';
    case 'schedule_too_far':
      return 'Pick a `when` closer to now (the message gives the furthest allowed), as ISO 8601 with a time zone offset, and call again.';
    case 'model_not_available': {
      const models = Array.isArray(d.available_models) ? d.available_models.join(', ') : null;
      return models ? `That video model is not available here. Use one of: ${models}, and call ${t} again.` : `That video model is not available here. Tell the user; retrying will not help.`;
    }
    case 'url_not_allowed':
    case 'source_unreachable':
      return 'Use a public http(s) URL the server can download (not localhost or a private address). Local files must be uploaded in the app, not through MCP.';
    case 'payload_too_large':
    case 'asset_too_large':
    case 'duration_too_long':
    case 'storage_quota_exceeded':
      return `It is over a limit${num(d.limit) !== undefined ? ` (${d.limit})` : ''}. Use a smaller or shorter file, or ask the user to free storage; do not retry as is.`;
    case 'unsupported_media_type':
    case 'asset_not_audio':
      return 'The file does not match the kind given. Check `kind` (image, video or music) against what the URL really serves.';
    case 'rate_limited': {
      const s = waitSeconds(err);
      return `Too many requests. Wait ${s ?? 'a few'} second${s === 1 ? '' : 's'} (Retry-After), then call ${t} again${retrySame}.`;
    }
    case 'not_implemented':
      return `${t} is not available on this server yet. Tell the user this step cannot be done here yet; retrying will not help. ${pick(ctx, 'get_status') ? 'get_status shows what this server has wired.' : ''}`.trim();
    case 'connection_error':
    case 'timeout':
      return `The Lavendly API at ${ctx.baseUrl} did not answer (${err.code}). Retry once${retrySame}; if it keeps failing, ask the user to check that the server is running and LAVENDLY_BASE_URL points at it.`;
    // Codes whose HTTP status says all an agent can act on.
    case 'malformed_request':
    case 'invalid_credentials':
    case 'csrf_failed':
    case 'upload_token_invalid':
    case 'upload_completed':
    case 'method_not_allowed':
    case 'request_timeout':
    case 'range_not_satisfiable':
    case 'unprocessable':
    case 'headers_too_large':
    case 'internal_error':
    case 'upstream_error':
    case 'unavailable':
      return byStatus(err, ctx, retrySame);
    default:
      // Compile-time: every declared code has a case above. Run time: codes from a newer server.
      code satisfies never;
      return byStatus(err, ctx, retrySame);
  }
}

function byStatus(err: LavendlyError, ctx: ErrorContext, retrySame: string): string {
  const s = err.status;
  if (s === 409) return busyStep(err, ctx);
  if (s === 400 || s === 422) return `The request was refused as asked. Read the message, change the arguments accordingly and call ${ctx.tool.name} again.`;
  if (s === 413) return 'It is over a limit. Use something smaller; do not retry as is.';
  if (s === 503 || s === 502 || s === 504) return `A provider or the server is unavailable right now. Wait a little and retry${retrySame}; if it persists, tell the user (mention the request_id).`;
  if (s >= 500) return `The server failed (request_id identifies it in its logs). Retry once${retrySame}; if it fails again, tell the user and give them the request_id.`;
  return 'Read the message, and tell the user if you cannot resolve it.';
}

function waitSeconds(err: LavendlyError): number | undefined {
  const fromBody = num(err.details.retry_after);
  if (fromBody !== undefined) return fromBody;
  const ms = retryAfterMs(err.headers);
  return ms === undefined ? undefined : Math.max(1, Math.ceil(ms / 1000));
}

/** The server's issues are by wire location and name; the agent knows argument names. */
function validationStep(err: LavendlyError, ctx: ErrorContext): string {
  if (err.code === 'invalid_cursor') return 'The cursor is invalid or expired. Call again without cursor to start from the first page.';
  const raw = err.details.issues;
  const grouped: Record<string, unknown> = raw && typeof raw === 'object' ? (Array.isArray(raw) ? { body: raw } : (raw as Record<string, unknown>)) : {};
  const lines: string[] = [];
  for (const [location, list] of Object.entries(grouped)) {
    if (!Array.isArray(list)) continue;
    for (const issue of list as { path?: unknown; message?: unknown }[]) {
      const path = Array.isArray(issue.path) ? (issue.path as (string | number)[]) : [];
      const argPath = toArgumentPath(ctx.tool, location, path);
      // The server's messages end in a full stop; the list gets its own.
      lines.push(`${argPath ? formatPath(argPath) : location}: ${String(issue.message ?? 'invalid').replace(/\.+$/, '')}`);
    }
  }
  return lines.length
    ? `Fix these and call ${ctx.tool.name} again: ${lines.join('; ')}.`
    : `Read the message, fix the arguments and call ${ctx.tool.name} again.`;
}

/** (location, wire path) -> argument path, through the tool's argument table. */
function toArgumentPath(tool: McpToolDefinition, location: string, path: (string | number)[]): (string | number)[] | null {
  const where = location === 'headers' ? 'header' : location;
  const [first, ...rest] = path;
  if (where === 'body' && tool.body.mode === 'single') return [tool.body.arg, ...path];
  for (const [arg, binding] of Object.entries(tool.args)) {
    if (binding.in === where && first !== undefined && binding.name.toLowerCase() === String(first).toLowerCase()) return [arg, ...rest];
  }
  return first === undefined ? null : path;
}

const LISTERS: Record<string, string[]> = {
  workflow: ['list_workflows'],
  render: ['list_renders', 'list_all_renders'],
  channel: ['list_channels'],
  node: ['get_workflow'],
  scene: ['get_workflow'],
  clip: ['get_workflow_audio', 'get_workflow'],
  track: ['get_workflow_audio'],
  asset: ['import_asset'],
};

function notFoundStep(err: LavendlyError, ctx: ErrorContext): string {
  const resource = typeof err.details.resource === 'string' ? err.details.resource.toLowerCase() : null;
  const id = typeof err.details.id === 'string' ? ` '${err.details.id}'` : '';
  const candidates = resource ? [...(LISTERS[resource] ?? []), `list_${resource}s`] : [];
  if (!resource && ctx.tool.args.id) candidates.push('list_workflows');
  const tool = pick(ctx, ...candidates);
  const what = resource ?? 'object';
  if (!tool) return `No ${what}${id} exists in this account. Check the id you passed.`;
  if (tool === 'import_asset') return `No ${what}${id} exists in this account. Import it with import_asset and use the id it returns.`;
  if (tool.startsWith('list_')) return `No ${what}${id} exists in this account. Call ${tool} to find the right id, then call ${ctx.tool.name} again.`;
  return `No ${what}${id} exists in this workflow. Call ${tool} to see the valid ids, then call ${ctx.tool.name} again.`;
}

function busyStep(err: LavendlyError, ctx: ErrorContext): string {
  const code = err.code;
  const poll =
    code === 'generation_in_progress' ? pick(ctx, 'get_generation_status')
    : code === 'render_in_progress' ? pick(ctx, 'get_render', 'list_renders')
    : ctx.pollTool ?? (code === 'workflow_busy' ? pick(ctx, 'get_generation_status') : null);
  if (poll) return `Something is still running on this workflow. Poll ${poll} until it finishes, then call ${ctx.tool.name} again if it is still needed.`;
  return `It conflicts with the current state. Read the current state (for example with ${pick(ctx, 'get_workflow') ?? 'a get tool'}), then decide whether to call ${ctx.tool.name} again.`;
}
