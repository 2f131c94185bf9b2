/**
 * Answers that did not come from the Lavendly API: an HTML page, plain text, cut-off JSON or a
 * redirect target. They mean LAVENDLY_BASE_URL points at something else (the console, a proxy,
 * a site without `/v1`), or a proxy in front of the API failed. Passed on as they were, a 200
 * page became a "successful" tool result without the structured content the tool's outputSchema
 * promises (the official client then throws a protocol error that names neither the page nor
 * the address), and an error page went out whole: its HTML as the message, all of it again in
 * the envelope. Here both are error results that say what answered and what to check.
 */
import type { McpToolDefinition } from '../../../generated/mcp.gen.js';
import type { ApiResponse, LavendlyError } from '../../../generated/sdk-runtime.gen.js';
import type { ToolErrorBody } from './errors.js';

/** How much of a foreign body is quoted back: enough to recognise the page, no more. */
const EXCERPT_CHARS = 200;

/** What a body that is not an API response says, in one short line: its title, or its text without markup. */
export function excerpt(body: unknown): string {
  let text: string;
  if (typeof body === 'string') {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1];
    text = title ?? body.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ');
  } else if (typeof Blob !== 'undefined' && body instanceof Blob) {
    text = `${body.size} bytes`;
  } else {
    text = JSON.stringify(body) ?? String(body);
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}...` : text;
}

/** `text/html`, or `no content type`. */
function typeOf(headers: Headers | null | undefined): string {
  return headers?.get('content-type')?.split(';')[0]?.trim() || 'no content type';
}

const looksJson = (type: string) => /[/+]json$/i.test(type);

/** The check a person can make: the base URL is the API's, ending in /v1. */
function checkBaseUrl(baseUrl: string): string {
  return `check that LAVENDLY_BASE_URL (now ${baseUrl}) is the Lavendly API's base URL, ending in /v1 (for example http://localhost:8090/v1)`;
}

/**
 * The error (for errorResult) for a 2xx answer that is not the JSON object `tool` returns, or null when it
 * is one. An empty body is the API's answer for the tools that return no content (delete_*).
 */
export function foreignSuccess(tool: McpToolDefinition, response: ApiResponse, baseUrl: string): ToolErrorBody | null {
  const { body, status, headers } = response;
  const empty = body === undefined || body === null || body === '';
  // Tools whose operation answers no content list `{ ok: true, status }` as their output (generator/emitters/mcp.ts).
  const answersNothing = (tool.outputSchema.properties as Record<string, unknown> | undefined)?.ok !== undefined;
  if (empty ? answersNothing : typeof body === 'object' && !Array.isArray(body) && !(typeof Blob !== 'undefined' && body instanceof Blob)) {
    return null;
  }
  const type = typeOf(headers);
  const what = empty ? 'an empty body' : `${type}${looksJson(type) ? ' that is not a JSON object (cut off or malformed)' : ''}: "${excerpt(body)}"`;
  const acted = tool.annotations.readOnlyHint !== true;
  return {
    error: {
      code: 'unexpected_response',
      message: `The API at ${baseUrl} answered ${tool.name} with HTTP ${status} and ${what}, not the JSON object the tool returns.`,
      status, request_id: response.requestId, content_type: type,
    },
    next_step: looksJson(type) || empty
      ? `Retry once${acted ? ' with the same arguments (a retry within five minutes acts once)' : ''}; if it happens again, tell the user and ${checkBaseUrl(baseUrl)}.`
      : `This did not come from the Lavendly API: tell the user to ${checkBaseUrl(baseUrl)}.${acted ? ' Whether anything was done is unknown: read the current state before calling it again.' : ''}`,
  };
}

/**
 * For an error answer without the API's envelope (its code is `http_<status>`): a message that
 * names the status, type and page instead of quoting its markup, and an excerpt in place of the
 * whole body. Null for the API's own errors.
 */
export function foreignError(code: string, status: number, headers: Headers | null | undefined, details: Record<string, unknown>, baseUrl: string): { message: string; details: Record<string, unknown>; hint: string } | null {
  if (!/^http_\d+$/.test(code)) return null;
  const { body, ...rest } = details;
  const type = typeOf(headers);
  const page = body === undefined ? '' : `: "${excerpt(body)}"`;
  return {
    message: `The API at ${baseUrl} answered HTTP ${status} with ${type} instead of a Lavendly error${page}.`,
    details: { ...rest, content_type: type },
    hint: status >= 500 ? '' : ` This answer did not come from the Lavendly API: ${checkBaseUrl(baseUrl)}.`,
  };
}

/**
 * The SDK refuses a 2xx that is not the JSON its operation documents (an HTML page, cut-off JSON,
 * nothing) with `invalid_response`: the response it stood for, so that foreignSuccess and the
 * resource reader can say what answered; null for any other error.
 */
export function refusedSuccess(err: LavendlyError): ApiResponse | null {
  if (err.code !== 'invalid_response' || err.status < 200 || err.status > 299) return null;
  const body = typeof err.details.body === 'string' ? err.details.body : undefined;
  return { status: err.status, headers: err.headers ?? new Headers(), body, requestId: err.requestId };
}
