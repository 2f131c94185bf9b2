import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { LavendlyError, retryAfterMs } from '@lavendly/sdk';
import { describeError } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => Promise<void>;
}

/** Runs `load` on mount and when `deps` change; `reload` runs it again (e.g. after an action). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const live = useRef(true);
  useEffect(() => () => { live.current = false; }, []);
  const reload = useCallback(async () => {
    setLoading(true);
    try {
      const value = await load();
      if (live.current) {
        setData(value);
        setError(null);
      }
    } catch (err) {
      if (live.current) setError(describeError(err));
    } finally {
      if (live.current) setLoading(false);
    }
  }, deps);
  useEffect(() => { void reload(); }, [reload]);
  return { data, error, loading, reload };
}

/** The longest a failing poll backs off by itself, and the longest server-asked wait it honours. */
const MAX_BACKOFF_MS = 30_000;
const MAX_RETRY_AFTER_MS = 600_000;

/**
 * How long to wait after a failed tick: at least what the server asked (Retry-After on a 429 or
 * 503, which the SDK gives up on beyond a minute), else twice the last wait up to 30 s, so a page
 * left open on an overloaded or down server does not ask every `ms` for as long as it is open.
 */
function waitAfterFailure(err: unknown, last: number): number {
  const asked = err instanceof LavendlyError ? retryAfterMs(err.headers) : undefined;
  const backoff = Math.min(last * 2, MAX_BACKOFF_MS);
  return asked === undefined ? backoff : Math.max(backoff, Math.min(asked, MAX_RETRY_AFTER_MS));
}

/**
 * Calls `tick` every `ms` while `active`; a tick never overlaps the previous one. A tick that
 * throws delays the next one (see waitAfterFailure); the first success returns to `ms`.
 */
export function usePolling(tick: () => Promise<unknown>, ms: number, active: boolean): void {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    let wait = ms;
    const run = async () => {
      try {
        await saved.current();
        wait = ms;
      } catch (err) {
        wait = waitAfterFailure(err, wait); // the failure itself is shown by the page's own error state
      }
      if (!stopped) timer = setTimeout(run, wait);
    };
    timer = setTimeout(run, ms);
    return () => { stopped = true; clearTimeout(timer); };
  }, [active, ms]);
}

/** An action button's state: busy while it runs, its error kept for display. */
export function useAction(): { busy: string | null; error: string | null; run: (name: string, fn: () => Promise<unknown>) => Promise<void>; clear: () => void } {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (name: string, fn: () => Promise<unknown>) => {
    setBusy(name);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(null);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}
