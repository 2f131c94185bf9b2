/**
 * Sends a fuzz request over a real connection and judges the answer against the spec: no 5xx, a
 * status the operation declares (or, off its route, one of the root `x-edge-responses`), and a
 * body that the generated response validator for that status accepts.
 */
import http from 'node:http';
import { operationValidators, responseSchema, schemas } from '../../generated/validators.gen.js';
import type { FuzzRequest } from './requests.js';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

// One socket per request in flight (the concurrent pass keeps several).
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/** One request; a header value Node refuses to send is reported as null (the request is skipped). */
export function send(origin: string, basePath: string, req: FuzzRequest): Promise<Answer | null> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    let r: http.ClientRequest;
    try {
      r = http.request({
        agent, host: url.hostname, port: url.port, method: req.method, path: basePath + req.path,
        headers: { ...req.headers, ...(req.body ? { 'content-length': String(req.body.length) } : {}) },
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_INVALID_CHAR' || (err as { code?: string }).code === 'ERR_UNESCAPED_CHARACTERS') return resolve(null);
      return reject(err);
    }
    // Longer than the longest wait the spec allows (wait_s: 30), so only a server that hangs trips it.
    r.setTimeout(40_000, () => r.destroy(new Error(`no answer in 40 s: ${req.method} ${req.path.slice(0, 100)}`)));
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

export function closeConnections(): void {
  agent.destroy();
}

function statusKeys(responses: Record<string, unknown>, status: number): boolean {
  return String(status) in responses || `${String(status)[0]}XX` in responses || 'default' in responses;
}

/** The problem with this answer, or null when it keeps to the spec. */
export function judge(req: FuzzRequest, answer: Answer, edge: Record<string, unknown>): string | null {
  if (answer.status >= 500) return `${answer.status} server error`;
  const v = operationValidators[req.op.id as keyof typeof operationValidators];
  const declared = statusKeys(v.responses, answer.status);
  const fromEdge = req.offRoute && String(answer.status) in edge;
  if (!declared && !fromEdge) return `undeclared status ${answer.status}`;
  const isJson = /^application\/json/.test(String(answer.headers['content-type'] ?? ''));
  let body: unknown;
  if (answer.text === '') body = undefined;
  else if (isJson) {
    try {
      body = JSON.parse(answer.text);
    } catch {
      return `invalid JSON body with status ${answer.status}`;
    }
  } else if (answer.status >= 400) return `error without the JSON envelope (${String(answer.headers['content-type'])})`;
  else return null; // a file or another declared non-JSON answer
  // An edge answer (router fallback) is judged by the edge response; else by the operation's.
  const schema = fromEdge && !declared ? (answer.status >= 400 ? schemas.ErrorEnvelope : undefined) : responseSchema(v, answer.status);
  if (!schema) return null;
  const parsed = schema.safeParse(body);
  if (parsed.success) return null;
  return `body off-spec for ${answer.status}: ${JSON.stringify(parsed.error.issues.slice(0, 3)).slice(0, 300)}`;
}
