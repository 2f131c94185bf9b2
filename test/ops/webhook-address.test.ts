// Finding 7 of issue 13: registering a webhook whose host name resolves to an internal address
// answered with that address ("the host 'x' resolves to a refused address: 10.20.30.40 is an
// internal address (private)"), telling a tenant what the name means inside our network. The
// server runs in a mount namespace of its own whose /etc/hosts maps two names to internal
// addresses, so the real resolver answers them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/server.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvd-hooks-'));
const hosts = path.join(dir, 'hosts');
fs.writeFileSync(hosts, '127.0.0.1 localhost\n10.20.30.40 hooks.corp.example.com\n127.0.0.1 sneaky.example.net\n');
const canUnshare = process.getuid?.() === 0 && fs.existsSync('/usr/bin/unshare');
let child: ReturnType<typeof spawn> | null = null;

afterAll(() => {
  child?.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

async function serveWithHosts(): Promise<{ base: string; key: string }> {
  const cmd = `mount --bind "${hosts}" /etc/hosts && exec "${process.execPath}" --import tsx "${path.join(root, 'src/cli/main.ts')}" serve --port 0`;
  child = spawn('unshare', ['-m', 'sh', '-c', cmd], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LAVENDLY_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: '', HOST: '127.0.0.1', LAVENDLY_SERVE_WORKER: '0' },
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const check = () => {
      const origin = out.match(/listening on (http:\/\/[^\s"]+)/)?.[1];
      const key = out.match(/export LAVENDLY_API_KEY=(\S+)/)?.[1];
      if (origin && key) resolve({ base: `${origin}/v1`, key });
    };
    child!.stdout!.on('data', (d) => { out += String(d); check(); });
    child!.stderr!.on('data', (d) => { out += String(d); check(); });
    child!.on('exit', () => reject(new Error(`serve exited:\n${out}`)));
  });
}

describe.skipIf(!canUnshare)('webhook registration refusals', () => {
  it('name the host but never the internal address it resolves to', async () => {
    const { base, key } = await serveWithHosts();
    for (const [url, address] of [['http://hooks.corp.example.com/in', '10.20.30.40'], ['https://sneaky.example.net/hook', '127.0.0.1']] as const) {
      const r = await call(`${base}/webhooks/endpoints`, { key, body: { url, events: ['*'] } });
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('url_not_allowed');
      expect(r.json.error.message).toContain(new URL(url).hostname);
      expect(r.text).not.toContain(address);
      expect(r.text).not.toMatch(/private|loopback|10\.\d|127\.\d/);
    }
    // An address typed by the caller is theirs to see.
    const literal = await call(`${base}/webhooks/endpoints`, { key, body: { url: 'http://10.1.2.3/hook', events: ['*'] } });
    expect(literal.status).toBe(400);
    expect(literal.json.error.message).toContain('10.1.2.3');
  }, 60_000);
});
