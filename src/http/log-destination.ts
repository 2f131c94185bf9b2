import pino, { type DestinationStream } from 'pino';

/**
 * A log destination that hands lines to the file in batches: one asynchronous write per
 * `BATCH_MS` (or per `BATCH_BYTES` of lines, whichever comes first) instead of one per line.
 * Pino's default (an asynchronous SonicBoom) writes each line as soon as the previous write is
 * done, which on a busy server is nearly every line: a trip to libuv's thread pool per request
 * for the access log, 8% of get_workflow's CPU in a profile of bench/http.ts. Every line is still
 * written, in order, at most `BATCH_MS` later; on exit, what is pending is written synchronously,
 * as pino does for its own buffer. A process killed outright (SIGKILL) loses at most the last
 * `BATCH_MS` of lines, where it lost the lines of the write in flight before.
 */
export function batchedLines(dest: number | string): BatchedLines {
  let made = byDest.get(dest);
  if (!made) byDest.set(dest, (made = create(dest)));
  return made;
}

type BatchedLines = DestinationStream & { flushSync(): void };

/** One per file per process: every logger writing to stdout shares one buffer and one exit hook. */
const byDest = new Map<number | string, BatchedLines>();

/** How long a line may wait for others before it is handed to the file. */
const BATCH_MS = 10;
/** Pending lines beyond this are handed over at once. */
const BATCH_BYTES = 16 * 1024;

function create(dest: number | string): BatchedLines {
  const file = pino.destination({ dest, sync: false });
  let pending = '';
  let timer: NodeJS.Timeout | null = null;
  const handOver = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!pending) return;
    const lines = pending;
    pending = '';
    file.write(lines);
  };
  const flushSync = () => {
    handOver();
    // A file opened by name may still be opening; there is then nothing written yet to flush.
    if ((file as unknown as { fd: number }).fd >= 0) file.flushSync();
  };
  process.on('exit', flushSync);
  return {
    write(line: string) {
      pending += line;
      if (pending.length >= BATCH_BYTES) handOver();
      else if (!timer) {
        timer = setTimeout(handOver, BATCH_MS);
        // Pending lines never hold the process open: the exit hook writes them.
        timer.unref();
      }
    },
    flushSync,
  };
}
