/**
 * Where the JSON log lines go: pino's own asynchronous stdout stream (sonic-boom, one `fs.write`
 * on the thread pool per batch; docs/PERFORMANCE.md says why it stays), made safe for a stdout
 * that refuses writes, as a file on a full disk does. Unguarded, the first ENOSPC was re-emitted
 * as an unhandled 'error', and the exit flush that followed retried its write forever: the process
 * hung, port held, answering nothing. Now a failed write is kept and retried with the next line
 * (so logging resumes by itself once space is freed), lines beyond MAX_PENDING_BYTES are dropped,
 * and the flush at exit gives up on anything but EAGAIN.
 */
import fs from 'node:fs';
import pino, { type DestinationStream } from 'pino';

/** Most bytes of lines held while stdout refuses them; later lines are dropped. */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** At exit, how often a write that would block (a pipe whose reader lags) is tried again. */
const EAGAIN_TRIES = 100;
const EAGAIN_PAUSE_MS = 10;

/** The parts of sonic-boom 4 the bounded flush reads (utf8 mode: pending text as strings). */
interface SonicBoomState {
  fd: number;
  _bufs: unknown[];
  _writing: boolean;
  _writingBuf: unknown;
  _len: number;
  flushSync(): void;
  on(event: 'error', listener: (err: NodeJS.ErrnoException) => void): unknown;
}

export function stdoutDestination(fd = 1): DestinationStream {
  const stream = pino.destination({ fd, sync: false, maxLength: MAX_PENDING_BYTES }) as unknown as SonicBoomState & DestinationStream;
  // pino's own listener passes anything but EPIPE on; without a listener here it ends the process.
  stream.on('error', () => {});
  stream.flushSync = () => flushBounded(stream);
  return stream;
}

function flushBounded(s: SonicBoomState): void {
  const parts = [...(s._writing ? [] : [s._writingBuf]), ...s._bufs];
  if (!parts.every((p) => typeof p === 'string')) return; // not the layout this was written for: never hang
  let buf = Buffer.from(parts.join(''));
  for (let tries = 0; buf.length > 0;) {
    try {
      buf = buf.subarray(fs.writeSync(s.fd, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EAGAIN' && code !== 'EBUSY') || ++tries > EAGAIN_TRIES) break;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, EAGAIN_PAUSE_MS);
    }
  }
  s._bufs.length = 0;
  if (!s._writing) s._writingBuf = '';
  s._len = 0;
}
