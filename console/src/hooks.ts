import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
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

/** Calls `tick` every `ms` while `active`; a tick never overlaps the previous one. */
export function usePolling(tick: () => Promise<unknown>, ms: number, active: boolean): void {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const run = async () => {
      try { await saved.current(); } catch { /* shown by the page's own error state */ }
      if (!stopped) timer = setTimeout(run, ms);
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
