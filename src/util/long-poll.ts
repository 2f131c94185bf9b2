/**
 * Long-polling (`wait_s` on get_generation_status and get_render): read, and if the answer is not
 * final, read again every `intervalMs` until it changes, it is final, the wait is over or the
 * caller went away. Bounded by the caller's wait (30 s at most by the spec), so a client makes one
 * call where it would have made dozens.
 */
export interface LongPollOptions<T> {
  waitS: number;
  /** True for an answer that will not change any more (terminal status). */
  final: (value: T) => boolean;
  /** What counts as a change; default the JSON of the answer. */
  fingerprint?: (value: T) => string;
  signal?: AbortSignal;
  intervalMs?: number;
}

export async function longPoll<T>(read: () => Promise<T>, options: LongPollOptions<T>): Promise<T> {
  const first = await read();
  if (!(options.waitS > 0) || options.final(first)) return first;
  const print = options.fingerprint ?? ((v: T) => JSON.stringify(v));
  const start = print(first);
  const deadline = performance.now() + options.waitS * 1000;
  const interval = options.intervalMs ?? 250;
  let last = first;
  while (performance.now() < deadline && !options.signal?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - performance.now()))));
    last = await read();
    if (options.final(last) || print(last) !== start) return last;
  }
  return last;
}
