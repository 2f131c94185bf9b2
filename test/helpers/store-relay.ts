/**
 * A TCP relay in front of a real store (s3rver), switchable into the ways a store fails: `down`
 * (nothing listens: connections are refused), `hang` (connections are accepted and requests read,
 * never answered), `stall` (answers pass through up to `stallAfterBytes`, then silence), `cut`
 * (a connection is reset once `cutAfterBytes` of its request went through: a store killed during
 * an upload), and `pass`. Tests point LAVENDLY_STORAGE_URL's endpoint at it.
 */
import net from 'node:net';

export type RelayMode = 'pass' | 'down' | 'hang' | 'stall' | 'cut';

export interface StoreRelay {
  /** `http://127.0.0.1:<port>`: the endpoint to give the driver. */
  endpoint: string;
  /**
   * Switches mode, cutting every open connection (a client's pooled keep-alive ones would
   * otherwise go on in the old mode); `down` closes the listener, anything else reopens it on
   * the same port.
   */
  set(mode: RelayMode, options?: { stallAfterBytes?: number; cutAfterBytes?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function startStoreRelay(upstreamPort: number): Promise<StoreRelay> {
  let mode: RelayMode = 'pass';
  let stallAfter = 0;
  let cutAfter = 0;
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  };
  const server = net.createServer((client) => {
    track(client);
    if (mode === 'hang') {
      client.resume(); // read and drop the request: the sender sees it go out
      return;
    }
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    track(upstream);
    if (mode === 'cut') {
      let passed = 0;
      client.on('data', (chunk: Buffer) => {
        passed += chunk.length;
        if (passed >= cutAfter) {
          client.resetAndDestroy();
          upstream.destroy();
        } else upstream.write(chunk);
      });
    } else client.pipe(upstream);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const limit = mode === 'stall' ? stallAfter : Infinity;
    let sent = 0;
    upstream.on('data', (chunk: Buffer) => {
      const room = limit - sent;
      if (room > 0) client.write(room >= chunk.length ? chunk : chunk.subarray(0, room));
      sent += chunk.length;
    });
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const stop = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async set(next, options = {}) {
      mode = next;
      stallAfter = options.stallAfterBytes ?? 0;
      cutAfter = options.cutAfterBytes ?? 0;
      for (const s of sockets) s.destroy();
      if (next === 'down') await stop();
      else if (!server.listening) await listen(port);
    },
    close: stop,
  };
}
