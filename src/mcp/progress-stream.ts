/**
 * Whether an MCP POST should be answered as an event stream rather than one JSON document.
 *
 * `/mcp` answers plain JSON (simplest for every client), but JSON leaves no room for messages
 * before the result. A tool call whose request carries a `progressToken` wants progress
 * notifications while it waits, so that request alone is answered as a stream. Deciding needs
 * the body, which is read here (within the same size limit the transport applies) and handed to
 * the transport already parsed.
 */
import type { IncomingMessage } from 'node:http';
import { mediaTypeOf, parseJson, ValidationError } from '@lavendly/framework';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, parseMessage } from '../../packages/mcp/src/jsonrpc-message.js';
import { unkeepableMessage } from '../../packages/mcp/src/message-values.js';

export type PeekedBody =
  | { ok: true; message: unknown }
  | { ok: false; status: number; code: number; message: string; id?: RequestId | null };

/**
 * The body as a JSON-RPC message (or batch), or the answer that refuses it. Held to what the REST
 * API accepts, by the framework's own reader (parseJson: UTF-8 only, a leading BOM dropped, at
 * most MAX_JSON_DEPTH deep): uncompressed UTF-8 only. Before, a gzipped body answered "Invalid
 * JSON", and bytes that are not UTF-8 (or a charset=latin1 body) became U+FFFD in what the tools
 * then stored.
 */
export async function readJsonRpcBody(req: IncomingMessage, maxBytes: number): Promise<PeekedBody> {
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding.trim().toLowerCase() !== 'identity') {
    req.resume();
    return { ok: false, status: 415, code: -32000, message: `Unsupported Media Type: compressed request bodies (Content-Encoding: ${encoding}) are not accepted; send the body uncompressed.` };
  }
  const charset = mediaTypeOf(req.headers['content-type'])?.charset;
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    req.resume();
    return { ok: false, status: 415, code: -32000, message: `Unsupported Media Type: JSON-RPC bodies must be UTF-8, not charset=${charset}.` };
  }
  const body = await collect(req, maxBytes);
  if (body === 'too large') return { ok: false, status: 413, code: -32000, message: `Payload Too Large: Request body must not exceed ${maxBytes} bytes` };
  if (body === 'cut off') return { ok: false, status: 400, code: -32000, message: 'Bad Request: the request body ended before it was complete.' };
  let value: unknown;
  try {
    value = parseJson(body);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const issue = err.issues.body?.[0];
    const refused = issue && !NOT_JSON.has(issue.code) ? unkeepable(body) : null;
    if (refused) return refused;
    return { ok: false, status: 400, code: PARSE_ERROR, message: `Parse error: ${issue?.message ?? err.message}` };
  }
  const messages = Array.isArray(value) ? value : [value];
  if (!messages.length) return { ok: false, status: 400, code: INVALID_REQUEST, message: 'Invalid Request: an empty batch; send at least one message.' };
  for (const m of messages) {
    const parsed = parseMessage(m);
    if (!parsed.ok) return { ok: false, status: 400, code: INVALID_REQUEST, message: parsed.message, id: Array.isArray(value) ? null : parsed.id };
  }
  return { ok: true, message: value };
}

/** The reader's refusals that mean the body is not JSON at all (-32700). */
const NOT_JSON = new Set(['invalid_encoding', 'invalid_json']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A body that is JSON but that the reader refused as the API could not keep it (too deep,
 * `__proto__`, 1e400): answered as the stdio transport answers it (message-values.ts), with the
 * request's id. Invalid params of a request is an answer to that request, as the server's own
 * -32602 answers are: HTTP 200, which an MCP client reads and matches by id (on a 400 it throws an
 * HTTP error without reading the body); Invalid Request stays a 400, as above.
 * Null when the text does not parse after all (a too-deep text is refused before parsing).
 */
function unkeepable(body: Buffer): PeekedBody | null {
  const text = utf8.decode(body); // the reader decoded it already: valid UTF-8, a BOM dropped
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const refusal = unkeepableMessage(text, value);
  if (!refusal) return null;
  return { ok: false, status: refusal.code === INVALID_PARAMS ? 200 : 400, ...refusal };
}

/**
 * The body's bytes, up to `maxBytes`. Past that the rest is drained unread, so the 413 reaches the
 * client. (Returning from a `for await` over the request instead destroyed it, and the access log
 * then failed on the request's vanished socket: the client got a bare 500 in place of the 413.)
 */
function collect(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too large' | 'cut off'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'too large' | 'cut off') => {
      req.off('data', onData).off('end', onEnd).off('error', onCutOff).off('close', onCutOff);
      if (result === 'too large') req.on('error', () => {}).resume();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish('too large');
      else chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks, size));
    const onCutOff = () => finish('cut off');
    req.on('data', onData).on('end', onEnd).on('error', onCutOff).on('close', onCutOff);
  });
}

/** A tools/call (alone or in a batch) that asked for progress notifications. */
export function wantsProgress(message: unknown): boolean {
  const list = Array.isArray(message) ? message : [message];
  return list.some((m) => {
    const r = m as { method?: unknown; params?: { _meta?: { progressToken?: unknown } } } | null;
    return r?.method === 'tools/call' && r.params?._meta?.progressToken !== undefined;
  });
}

/** The transport's own test for a JSON body (`application/json`, any parameters). */
export function isJsonContentType(value: string | undefined): boolean {
  return (value ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}
