/**
 * The request mix of bench/soak.ts: what many clients of one server do over hours, compressed.
 * Each call picks one action; failures are counted by kind, never thrown (the soak measures the
 * server, the load only has to keep coming).
 */
import http from 'node:http';
import net from 'node:net';
import { randomUUID } from 'node:crypto';

export interface SoakTarget {
  port: number;
  /** Keys of ordinary accounts with credits. */
  keys: string[];
  /** A key with the admin scope (creates and revokes keys). */
  adminKey: string;
  /** Console users' email and password. */
  users: { email: string; password: string }[];
  /** Signed links to large stored files (uploaded at setup), for downloads cut short. */
  fileUrls: string[];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
export const counts: Record<string, number> = {};
const count = (k: string) => { counts[k] = (counts[k] ?? 0) + 1; };

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: any }

function call(t: SoakTarget, method: string, path: string, opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (payload !== undefined) { headers['content-type'] = 'application/json'; headers['content-length'] = String(Buffer.byteLength(payload)); }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: t.port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: any = text;
        try { body = text ? JSON.parse(text) : null; } catch { /* event stream or text */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const randomIp = () => `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`;
const SHOTS = [{ prompt: 'A fox in a bookshop', duration_s: 1 }, { prompt: 'The map glows', duration_s: 1 }];

/** Workflows this load made, per key, so gets and deletes find real ones. */
const made = new Map<string, string[]>();
/** Keys made over the API (fresh per-key state in the server), revoked later. */
const extraKeys: { id: string; key: string }[] = [];

async function createWorkflow(t: SoakTarget, key: string): Promise<string | null> {
  const r = await call(t, 'POST', '/v1/workflows', { key, body: { name: 'soak', shots: SHOTS }, headers: { 'idempotency-key': randomUUID() } });
  if (r.status !== 201) return null;
  const list = made.get(key) ?? [];
  list.push(r.body.id);
  if (list.length > 50) list.shift();
  made.set(key, list);
  return r.body.id;
}

/** A request whose body never finishes: headers and half the declared bytes, then the socket is cut. */
function abortMidRequest(t: SoakTarget, key: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(t.port, '127.0.0.1', () => {
      s.write(`POST /v1/workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 400\r\nIdempotency-Key: ${randomUUID()}\r\n\r\n{"name":"cut`);
      setTimeout(() => { s.destroy(); resolve(); }, 20);
    });
    s.on('error', () => resolve());
  });
}

/** A response read only as far as its first bytes, then the socket is cut. */
function abortMidResponse(t: SoakTarget, key: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(t.port, '127.0.0.1', () => {
      s.write(`GET /v1/workflows?limit=100 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n\r\n`);
    });
    s.once('data', () => { s.destroy(); resolve(); });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
}

/** An upload slot whose PUT sends a few bytes of a PNG and is cut. */
async function abandonUpload(t: SoakTarget, key: string): Promise<void> {
  const r = await call(t, 'POST', '/v1/uploads', { key, body: { kind: 'image', filename: 'x.png', bytes: 200_000 }, headers: { 'idempotency-key': randomUUID() } });
  if (r.status !== 201) { count(`upload-slot-${r.status}`); return; }
  const url = new URL(r.body.upload_url);
  await new Promise<void>((resolve) => {
    const s = net.connect(t.port, '127.0.0.1', () => {
      s.write(`PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 200000\r\n\r\n`);
      s.write(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(30_000, 7)]));
      setTimeout(() => { s.destroy(); resolve(); }, 50);
    });
    s.on('error', () => resolve());
  });
}

/** An MCP session opened by an elicitation-capable client and never closed; sometimes its event stream is opened and cut. */
async function openMcpSession(t: SoakTarget, key: string): Promise<void> {
  const r = await call(t, 'POST', '/mcp', {
    key,
    headers: { accept: 'application/json, text/event-stream' },
    body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { elicitation: {} }, clientInfo: { name: 'soak', version: '1' } } },
  });
  const session = r.headers['mcp-session-id'];
  count(`mcp-${r.status}${session ? '-session' : ''}`);
  if (typeof session !== 'string' || Math.random() < 0.5) return;
  await new Promise<void>((resolve) => {
    const s = net.connect(t.port, '127.0.0.1', () => {
      s.write(`GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nAuthorization: Bearer ${key}\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${session}\r\nMcp-Protocol-Version: 2025-06-18\r\n\r\n`);
    });
    s.once('data', () => setTimeout(() => { s.destroy(); resolve(); }, 50));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
  count('mcp-stream-cut');
}

/** A stateless MCP tool call that waits (wait_s), cut by the client while it waits. */
async function mcpWaitCut(t: SoakTarget, key: string): Promise<void> {
  const id = pick(made.get(key) ?? []);
  if (!id) return;
  const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get_generation_status', arguments: { id, wait_s: 20 } } });
  await new Promise<void>((resolve) => {
    const s = net.connect(t.port, '127.0.0.1', () => {
      s.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nAuthorization: Bearer ${key}\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      setTimeout(() => { s.destroy(); resolve(); }, 300);
    });
    s.on('error', () => resolve());
  });
  count('mcp-wait-cut');
}

/** A download of a large stored file, cut after its first bytes. */
function downloadCut(t: SoakTarget): Promise<void> {
  const url = new URL(pick(t.fileUrls));
  return new Promise((resolve) => {
    const s = net.connect(t.port, '127.0.0.1', () => {
      s.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Math.random() < 0.5 ? 'Range: bytes=1000-\r\n' : ''}\r\n`);
    });
    s.once('data', (d: Buffer) => { count(`download-${String(d).slice(9, 12)}`); s.destroy(); resolve(); });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
}

async function consoleSignIn(t: SoakTarget): Promise<void> {
  const u = pick(t.users);
  const origin = `http://127.0.0.1:${t.port}`;
  const good = Math.random() < 0.5;
  const r = await call(t, 'POST', '/auth/sign-in', {
    body: { email: good ? u.email : `nobody-${randomUUID()}@example.org`, password: good ? u.password : 'wrong password!' },
    headers: { origin, 'x-forwarded-for': randomIp() },
  });
  count(`sign-in-${r.status}`);
  if (r.status !== 200) return;
  const cookie = String(r.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  await call(t, 'GET', '/v1/workflows?limit=5', { headers: { cookie } });
  if (Math.random() < 0.5) await call(t, 'POST', '/auth/sign-out', { headers: { cookie, origin, 'x-csrf-token': r.body.csrf_token } });
}

async function generateAndRender(t: SoakTarget, key: string): Promise<void> {
  const id = await createWorkflow(t, key);
  if (!id) return;
  const g = await call(t, 'POST', `/v1/workflows/${id}/generate`, { key, body: {}, headers: { 'idempotency-key': randomUUID() } });
  count(`generate-${g.status}`);
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const s = await call(t, 'GET', `/v1/workflows/${id}/generation-status`, { key });
    if (s.status !== 200 || !['queued', 'running'].includes(s.body.status)) break;
  }
  const r = await call(t, 'POST', `/v1/workflows/${id}/renders`, { key, body: {}, headers: { 'idempotency-key': randomUUID() } });
  count(`render-${r.status}`);
}

async function keyChurn(t: SoakTarget): Promise<void> {
  const r = await call(t, 'POST', '/v1/keys', { key: t.adminKey, body: { name: 'soak' } });
  count(`key-create-${r.status}`);
  if (r.status === 201) {
    extraKeys.push({ id: r.body.id, key: r.body.key });
    await call(t, 'GET', '/v1/ledger', { key: r.body.key });
  }
  if (extraKeys.length > 20) {
    const old = extraKeys.shift()!;
    const d = await call(t, 'DELETE', `/v1/keys/${old.id}`, { key: t.adminKey });
    count(`key-revoke-${d.status}`);
  }
}

/** A dynamic client registration (no credentials) from an address of one IPv6 /64 or a random IPv4 one. */
async function oauthRegister(t: SoakTarget): Promise<void> {
  const hex = () => Math.floor(Math.random() * 65536).toString(16);
  const ip = Math.random() < 0.5 ? `2001:db8:1:2:${hex()}:${hex()}:${hex()}:${hex()}` : randomIp();
  const r = await call(t, 'POST', '/oauth/register', { body: { redirect_uris: ['http://127.0.0.1:9/cb'], client_name: 'soak' }, headers: { 'x-forwarded-for': ip } });
  count(`oauth-register-${r.status}`);
}

let generating = 0;

/** One action of the mix, chosen by weight. The slow ones (generation) are rare. */
export async function oneAction(t: SoakTarget): Promise<void> {
  const key = pick(t.keys);
  const x = Math.random() * 100;
  try {
    if (x < 15) count(`create-${(await createWorkflow(t, key)) ? 'ok' : 'fail'}`);
    else if (x < 30) {
      const id = pick(made.get(key) ?? ['wf_none']);
      count(`get-${(await call(t, 'GET', `/v1/workflows/${id}`, { key })).status}`);
    } else if (x < 40) count(`list-${(await call(t, 'GET', '/v1/workflows?limit=20', { key })).status}`);
    else if (x < 47) {
      const list = made.get(key);
      const id = list?.shift();
      if (id) count(`delete-${(await call(t, 'DELETE', `/v1/workflows/${id}`, { key })).status}`);
    } else if (x < 60) {
      const r = await call(t, 'GET', '/v1/ledger', { key: `lvd_bad${randomUUID().replace(/-/g, '')}`, headers: { 'x-forwarded-for': randomIp() } });
      count(`badkey-${r.status}`);
    } else if (x < 66) { await abortMidRequest(t, key); count('abort-request'); }
    else if (x < 72) { await abortMidResponse(t, key); count('abort-response'); }
    else if (x < 78) { await abandonUpload(t, key); count('abandon-upload'); }
    else if (x < 81) await openMcpSession(t, key);
    else if (x < 82) await mcpWaitCut(t, key);
    else if (x < 84) await downloadCut(t);
    else if (x < 89) await consoleSignIn(t);
    else if (x < 93) await keyChurn(t);
    else if (x < 95) await oauthRegister(t);
    else if (x < 96) {
      // In the background (at most two at once), so a lane does not wait out the generation.
      if (generating < 2) {
        generating += 1;
        void generateAndRender(t, key).catch(() => count('generate-error')).finally(() => { generating -= 1; });
      }
    }
    else count(`status-${(await call(t, 'GET', '/v1/_status')).status}`);
  } catch (err) {
    count(`error-${(err as NodeJS.ErrnoException).code ?? (err as Error).message.slice(0, 30)}`);
  }
}

export function closeAgent(): void {
  agent.destroy();
}
