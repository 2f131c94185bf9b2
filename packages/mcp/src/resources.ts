/**
 * MCP resources: workflows, renders and the ledger as JSON documents a client can list, attach
 * to a conversation and re-read, without the agent spending tool calls on them. Each URI maps
 * onto one read-only API operation, so a resource reads exactly what the matching tool returns.
 */
import { ErrorCode, McpError, type ReadResourceResult, type Resource, type ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { LavendlyError, type ApiClient, type ApiResponse, type RequestParts } from '../../../generated/sdk-runtime.gen.js';
import { excerpt, foreignError, refusedSuccess } from './foreign-answer.js';

const SCHEME = 'lavendly://';
const JSON_TYPE = 'application/json';
/** -32002: the code the MCP specification gives a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002;

interface Route {
  pattern: RegExp;
  operationId: string;
  /** The API request for the URI's captured ids. */
  parts(ids: string[]): RequestParts;
}

const ID = '([A-Za-z0-9_-]{1,80})';
const ROUTES: Route[] = [
  { pattern: /^ledger$/, operationId: 'get_ledger', parts: () => ({}) },
  { pattern: /^workflows$/, operationId: 'list_workflows', parts: () => ({}) },
  { pattern: /^renders$/, operationId: 'list_all_renders', parts: () => ({}) },
  { pattern: new RegExp(`^workflows/${ID}$`), operationId: 'get_workflow', parts: ([id]) => ({ path: { id } }) },
  { pattern: new RegExp(`^workflows/${ID}/renders$`), operationId: 'list_renders', parts: ([id]) => ({ path: { id } }) },
  { pattern: new RegExp(`^workflows/${ID}/renders/${ID}$`), operationId: 'get_render', parts: ([id, job_id]) => ({ path: { id, job_id } }) },
];

export const STATIC_RESOURCES: Resource[] = [
  { uri: `${SCHEME}ledger`, name: 'ledger', title: 'Credit ledger', description: 'Balance, reserved and available credits, and the account\'s time zone.', mimeType: JSON_TYPE },
  { uri: `${SCHEME}workflows`, name: 'workflows', title: 'Workflows', description: 'The most recent workflows (first page).', mimeType: JSON_TYPE },
  { uri: `${SCHEME}renders`, name: 'renders', title: 'Renders', description: 'The most recent renders of every workflow (first page).', mimeType: JSON_TYPE },
];

export const RESOURCE_TEMPLATES: ResourceTemplate[] = [
  { uriTemplate: `${SCHEME}workflows/{id}`, name: 'workflow', title: 'Workflow', description: 'One workflow: its scenes, their status, frames and clips.', mimeType: JSON_TYPE },
  { uriTemplate: `${SCHEME}workflows/{id}/renders`, name: 'workflow_renders', title: 'Renders of a workflow', description: 'The renders of one workflow, newest first.', mimeType: JSON_TYPE },
  { uriTemplate: `${SCHEME}workflows/{id}/renders/{job_id}`, name: 'render', title: 'Render', description: 'One render: status, progress and the video URL once done.', mimeType: JSON_TYPE },
];

/** The static resources and each of the most recent workflows (at most 20). */
export async function listResources(client: ApiClient<any>, signal?: AbortSignal): Promise<Resource[]> {
  const page = (await client.request('list_workflows', { query: { limit: 20 } }, { signal }).catch(() => null)) as { data?: { id: string; name: string }[] } | null;
  const workflows = (page?.data ?? []).map((w): Resource => ({
    uri: `${SCHEME}workflows/${w.id}`, name: `workflow ${w.id}`, title: w.name, mimeType: JSON_TYPE,
  }));
  return [...STATIC_RESOURCES, ...workflows];
}

function notJson(uri: string, response: ApiResponse, baseUrl: string): McpError {
  const type = response.headers.get('content-type') || 'no content type';
  return new McpError(ErrorCode.InternalError, `Reading ${uri} failed: the API at ${baseUrl} answered HTTP ${response.status} with ${type}: "${excerpt(response.body)}", not JSON. Check that LAVENDLY_BASE_URL is the Lavendly API's base URL, ending in /v1.`, { uri, status: response.status });
}

export async function readResource(client: ApiClient<any>, uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
  const rest = uri.startsWith(SCHEME) ? uri.slice(SCHEME.length) : null;
  for (const route of rest === null ? [] : ROUTES) {
    const m = route.pattern.exec(rest!);
    if (!m) continue;
    let response: ApiResponse;
    try {
      response = await client.requestWithResponse(route.operationId, route.parts(m.slice(1)), { signal });
    } catch (err) {
      const refused = err instanceof LavendlyError ? refusedSuccess(err) : null;
      if (refused) throw notJson(uri, refused, client.baseUrl);
      // An error page from something else than the API is named (status, type, title), not quoted as markup.
      const foreign = err instanceof LavendlyError ? foreignError(err.code, err.status, err.headers, err.details, client.baseUrl) : null;
      const message = foreign ? `${foreign.message}${foreign.hint}` : err instanceof Error ? err.message : String(err);
      if (err instanceof LavendlyError && err.status === 404 && !foreign) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri} (${message})`, { uri });
      if (err instanceof LavendlyError) throw new McpError(ErrorCode.InternalError, `Reading ${uri} failed: ${message}`, { uri, code: err.code, status: err.status });
      throw err;
    }
    const { body } = response;
    // A page or text where the API's JSON belongs is not served as application/json.
    if (!body || typeof body !== 'object' || (typeof Blob !== 'undefined' && body instanceof Blob)) throw notJson(uri, response, client.baseUrl);
    return { contents: [{ uri, mimeType: JSON_TYPE, text: JSON.stringify(body) }] };
  }
  throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}. resources/list and resources/templates/list give the URIs this server has.`, { uri });
}
