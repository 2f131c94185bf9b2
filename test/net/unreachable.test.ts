import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// A host name whose only address this machine has no route to makes connect() fail synchronously.
// Reproduced in a private network namespace (`unshare -n`, loopback only), where every public
// address is unroutable. The child must survive and report both failures as values.
const child = path.join(import.meta.dirname, 'unreachable-child.ts');

function inPrivateNetwork(): ReturnType<typeof spawnSync> {
  return spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" --import tsx "${child}"`], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('outbound HTTP to an unroutable address', () => {
  it('fails the download and the webhook post without crashing the process', () => {
    const run = inPrivateNetwork();
    expect(run.stderr).not.toMatch(/Unhandled 'error' event|ENETUNREACH\n\s+at /);
    expect(run.status).toBe(0);
    const results = JSON.parse(String(run.stdout));
    expect(results.download).toMatchObject({ name: 'SafeFetchError', reason: 'network' });
    expect(results.download.message).toMatch(/ENETUNREACH/);
    expect(results.webhook).toMatchObject({ status: null });
    expect(results.webhook.error).toMatch(/ENETUNREACH/);
  });
});
