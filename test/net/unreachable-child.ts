// Runs inside a private network namespace (only loopback up), where every public address fails to
// connect synchronously with ENETUNREACH. Both outbound clients must report that as an ordinary
// failure; an uncaught socket error would kill this process instead of printing the results.
import os from 'node:os';
import path from 'node:path';
import { safeDownload } from '../../src/net/safe-fetch.js';
import { postPinned } from '../../src/webhooks/send.js';

const unroutable = { address: '93.184.216.34', family: 4 as const };
const results: Record<string, unknown> = {};

try {
  await safeDownload('http://media.example.com/clip.mp4', {
    destPath: path.join(os.tmpdir(), `unreachable-${process.pid}.bin`),
    maxBytes: 1024,
    resolve: async () => [unroutable],
  });
  results.download = 'succeeded';
} catch (err) {
  results.download = { name: (err as Error).name, reason: (err as { reason?: string }).reason, message: (err as Error).message };
}

results.webhook = await postPinned({ url: new URL('http://hooks.example.com/in'), ...unroutable }, { 'content-type': 'application/json' }, '{}', 5_000);

process.stdout.write(JSON.stringify(results));
