/**
 * Watches the event loop for stalls: a timer every `everyMs`, and the longest gap seen between two
 * of its ticks. The lock tests use it to show that waiting for SQLite's write lock held by another
 * connection never blocks the loop for longer than one busy slice. Call the returned function to
 * stop watching and read the longest gap in milliseconds.
 */
export function watchLoopGaps(everyMs = 5): () => number {
  let last = performance.now();
  let worstGapMs = 0;
  const tick = setInterval(() => {
    const at = performance.now();
    worstGapMs = Math.max(worstGapMs, at - last);
    last = at;
  }, everyMs);
  return () => {
    clearInterval(tick);
    return worstGapMs;
  };
}
