import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeDownload, SafeFetchError, type Resolver } from '../../src/net/safe-fetch.js';
import { tempDir } from './servers.js';

// https through the pinned address: the socket goes to the checked IP while SNI and certificate
// verification still use the URL's host name.
let dir: string;
let cert: Buffer;
let server: https.Server;
let port: number;

beforeAll(async () => {
  dir = tempDir('lavendly-tls-');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=assets.example.com',
    '-addext', 'subjectAltName=DNS:assets.example.com',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
  ]);
  cert = fs.readFileSync(path.join(dir, 'cert.pem'));
  server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert }, (req, res) => {
    res.end(`sni=${(req.socket as unknown as { servername?: string }).servername} host=${req.headers.host}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as net.AddressInfo).port;
}, 30_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

const resolve: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];

describe('safeDownload over https', () => {
  it('connects to the checked address with the host name for SNI, Host and the certificate', async () => {
    const dest = path.join(dir, 'out.txt');
    const result = await safeDownload(`https://assets.example.com:${port}/x`, {
      destPath: dest, maxBytes: 1e4, resolve, ca: cert, allowedPolicy: { allowEndpoints: [`127.0.0.1:${port}`] },
    });
    expect(result.address).toBe('127.0.0.1');
    expect(fs.readFileSync(dest, 'utf8')).toBe(`sni=assets.example.com host=assets.example.com:${port}`);
  });

  it('a certificate for another name is refused', async () => {
    const err = await safeDownload(`https://other.example.com:${port}/x`, {
      destPath: path.join(dir, 'no.txt'), maxBytes: 1e4, resolve, ca: cert, allowedPolicy: { allowEndpoints: [`127.0.0.1:${port}`] },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafeFetchError);
    expect((err as SafeFetchError).reason).toBe('network');
    expect(fs.existsSync(path.join(dir, 'no.txt'))).toBe(false);
  });

  it('an untrusted certificate is refused', async () => {
    const err = await safeDownload(`https://assets.example.com:${port}/x`, {
      destPath: path.join(dir, 'no.txt'), maxBytes: 1e4, resolve, allowedPolicy: { allowEndpoints: [`127.0.0.1:${port}`] },
    }).catch((e: unknown) => e);
    expect((err as SafeFetchError).reason).toBe('network');
  });
});
