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

export type PeekedBody =
  | { ok: true; message: unknown }
  | { ok: false; status: number; code: number; message: string };

export async function readJsonRpcBody(req: IncomingMessage, maxBytes: number): Promise<PeekedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      req.resume(); // drain the rest so the 413 reaches the client
      return { ok: false, status: 413, code: -32000, message: `Payload Too Large: Request body must not exceed ${maxBytes} bytes` };
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, message: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, code: -32700, message: 'Parse error: Invalid JSON' };
  }
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
