/**
 * A minimal HTTP/1.1 keep-alive client for bench/http.ts (`--client raw`): one request at a time
 * per connection, the request bytes built once, and the response read with just enough parsing to
 * find its end (Content-Length or chunked), its status and the x-bench-server header. It spends a
 * fraction of node:http's CPU per request, so less of the measured latency is the load generator
 * taking its turn on a busy machine.
 */
import net from 'node:net';

export interface RawResponse { status: number; benchServer: string | undefined }

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNK_LINE_END = Buffer.from('\r\n');

export function rawRequest(method: string, path: string, headers: Record<string, string | number>, body?: string): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', 'connection: keep-alive',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), Buffer.from(body ?? '')]);
}

export class RawConnection {
  private socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private pending: { resolve(r: RawResponse): void; reject(e: Error): void } | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      this.parse();
    });
    const fail = (err?: Error) => {
      const p = this.pending;
      this.pending = null;
      p?.reject(err ?? new Error('connection closed'));
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  send(request: Buffer): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** Resolves the pending request once its whole response is in the buffer. */
  private parse(): void {
    const headEnd = this.buf.indexOf(HEADER_END);
    if (headEnd < 0 || !this.pending) return;
    const head = this.buf.subarray(0, headEnd).toString('latin1');
    const lines = head.split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    let length: number | null = null;
    let chunked = false;
    let benchServer: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding') chunked = value.toLowerCase().includes('chunked');
      else if (name === 'x-bench-server') benchServer = value;
    }
    let end: number;
    if (chunked) {
      end = headEnd + 4;
      for (;;) {
        const lineEnd = this.buf.indexOf(CHUNK_LINE_END, end);
        if (lineEnd < 0) return;
        const size = parseInt(this.buf.subarray(end, lineEnd).toString('latin1'), 16);
        end = lineEnd + 2 + size + 2;
        if (end > this.buf.length) return;
        if (size === 0) break;
      }
    } else {
      end = headEnd + 4 + (length ?? 0);
      if (end > this.buf.length) return;
    }
    this.buf = this.buf.subarray(end);
    const p = this.pending;
    this.pending = null;
    p.resolve({ status, benchServer });
  }
}
