/**
 * The least of a WebSocket client that bench/soak-probe.ts needs to talk to a Node inspector
 * (text frames both ways, no fragmentation, no TLS): `ws` is not a dependency of this project,
 * and Node 20 has a global WebSocket only behind a flag.
 */
import crypto from 'node:crypto';
import net from 'node:net';

export async function connectInspector(url: string, onText: (text: string) => void): Promise<{ send(text: string): void; close(): void }> {
  const { hostname, port, pathname } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const key = crypto.randomBytes(16).toString('base64');
  socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!/^HTTP\/1\.1 101/.test(buffer.subarray(0, end).toString())) return reject(new Error('inspector refused the upgrade'));
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        resolve();
      }
      // Whole frames only: FIN + text (0x81), unmasked, 7/16/64-bit lengths.
      for (;;) {
        if (buffer.length < 2) return;
        let len = buffer[1]! & 0x7f;
        let at = 2;
        if (len === 126) { if (buffer.length < 4) return; len = buffer.readUInt16BE(2); at = 4; }
        else if (len === 127) { if (buffer.length < 10) return; len = Number(buffer.readBigUInt64BE(2)); at = 10; }
        if (buffer.length < at + len) return;
        const opcode = buffer[0]! & 0x0f;
        if (opcode === 1) onText(buffer.subarray(at, at + len).toString());
        buffer = buffer.subarray(at + len);
      }
    });
  });
  return {
    send(text: string) {
      const payload = Buffer.from(text);
      const mask = crypto.randomBytes(4);
      const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length])
        : payload.length < 65536 ? Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff])
          : (() => { const h = Buffer.alloc(10); h[0] = 0x81; h[1] = 0x80 | 127; h.writeBigUInt64BE(BigInt(payload.length), 2); return h; })();
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      socket.write(Buffer.concat([head, mask, payload]));
    },
    close() {
      socket.destroy();
    },
  };
}
