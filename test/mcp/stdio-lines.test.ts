/**
 * `lavendly mcp` reading lines it cannot use: each gets the JSON-RPC error for it on stdout (id
 * null, or the request's own id when the line names one), and the server goes on answering the
 * next message. The SDK's transport answered none of them, and stopped for good at a line over
 * 10 MB. No API server is needed: only initialize and ping are sent.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { idFromEnds } from '../../packages/mcp/src/stdio-transport.js';
import { ROOT } from './helpers.js';

function run(input: string | Buffer): Promise<{ code: number | null; lines: any[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/lavendly.mjs'), 'mcp'], {
      cwd: ROOT, env: { ...process.env, LAVENDLY_API_KEY: '', LAVENDLY_BASE_URL: 'http://127.0.0.1:9/v1' }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`did not exit; stderr: ${stderr}`)); }, 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // Every line on stdout must be JSON-RPC: JSON.parse throws on anything else.
      resolve({ code, lines: stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr });
    });
    child.stdin.on('error', () => {}); // a server that died early shows in the assertions, not as EPIPE here
    child.stdin.end(input);
  });
}

const line = (m: unknown) => `${JSON.stringify(m)}\n`;
const initialize = line({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pipe', version: '0' } } });
const initialized = line({ jsonrpc: '2.0', method: 'notifications/initialized' });
const ping = (id: number) => line({ jsonrpc: '2.0', id, method: 'ping' });
const byId = (lines: any[], id: unknown) => lines.filter((l) => l.id === id);

describe('lavendly mcp: lines it cannot read', () => {
  it('answers bad JSON, non-JSON-RPC, batches and invalid UTF-8 with JSON-RPC errors, and keeps serving', async () => {
    const input = Buffer.concat([
      Buffer.from(initialize + initialized),
      Buffer.from('garbage\n'),
      Buffer.from('\n   \n'), // blank lines: nothing to answer
      Buffer.from(line({ jsonrpc: '1.0', id: 5, method: 'ping' })),
      Buffer.from(line({ jsonrpc: '2.0', id: 6, method: 42 })),
      Buffer.from(line({ jsonrpc: '2.0', id: { nested: true }, method: 'ping' })),
      Buffer.from(line([{ jsonrpc: '2.0', id: 7, method: 'ping' }])),
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), // `{` + invalid UTF-8 + `}`
      Buffer.from(ping(8)),
    ]);
    const { code, lines, stderr } = await run(input);
    expect(code).toBe(0);
    const refused = byId(lines, null);
    expect(refused.map((l) => l.error.code)).toEqual([-32700, -32600, -32600, -32700]);
    expect(refused[0].error.message).toMatch(/Parse error: the line is not JSON/);
    expect(refused[1].error.message).toMatch(/"id" must be a string or an integer/);
    expect(refused[2].error.message).toMatch(/batches .* one JSON-RPC message per line/);
    expect(refused[3].error.message).toMatch(/not valid UTF-8/);
    // A request whose id can be read gets its own id back, so the client's call fails at once.
    expect(byId(lines, 5)[0].error).toMatchObject({ code: -32600, message: expect.stringMatching(/"jsonrpc" must be "2.0"/) });
    expect(byId(lines, 6)[0].error).toMatchObject({ code: -32600, message: expect.stringMatching(/"method" must be a string/) });
    expect(byId(lines, 8)[0].result).toEqual({});
    expect(stderr).toMatch(/refused a message on stdin: Parse error/);
  }, 90_000);

  it('refuses a line over 10 MB with its id, without holding it, and answers the next message', async () => {
    // The official client writes the id last; this line ends `,"id":2}` like its messages do.
    const huge = `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"create_workflow","arguments":{"name":"${'x'.repeat(11 * 1024 * 1024)}"}},"id":2}\n`;
    const { code, lines } = await run(Buffer.from(initialize + initialized + huge + ping(3)));
    expect(code).toBe(0);
    expect(byId(lines, 2)[0].error).toMatchObject({ code: -32000, message: expect.stringMatching(/Payload Too Large: a message must not exceed 10485760 bytes/) });
    expect(byId(lines, 3)[0].result).toEqual({});
  }, 90_000);
});

describe('lavendly mcp: a client that stops reading', () => {
  it('stops quietly when stdout breaks (EPIPE) instead of dying on an unhandled error', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/lavendly.mjs'), 'mcp'], {
      cwd: ROOT, env: { ...process.env, LAVENDLY_API_KEY: '' }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.stdin.on('error', () => {});
    child.stdout.destroy(); // the reading end is gone: the first answer written fails with EPIPE
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 1500)); // let it start before it writes
    child.stdin.write(initialize);
    child.stdin.write(ping(2));
    setTimeout(() => child.stdin.end(), 1000);
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/Unhandled 'error' event/);
    expect(stderr).toMatch(/stdout failed \(EPIPE\)/);
  }, 60_000);
});

describe('idFromEnds', () => {
  it('reads the id at either end of a line, and nothing that only looks like one', () => {
    expect(idFromEnds('{"jsonrpc":"2.0","id":7,"method":"x"', '')).toBe(7);
    expect(idFromEnds('{"id":"a\\"b","method"', '')).toBe('a"b');
    expect(idFromEnds('{"jsonrpc":"2.0","method"', 'xx"}},"id":12}\r')).toBe(12);
    expect(idFromEnds('{"method":"x"', '"arguments":{"id":5}}}')).toBeNull(); // an argument's id, not the message's
    expect(idFromEnds('{"method":"x"', 'aaaa')).toBeNull();
  });
});
