import { type DependencyList, useCallback, useEffect, useRef, useState } from "react";
import { messageOf } from "./api";

export interface Resource<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  /** Loads again; `quiet` keeps the current data on screen while loading (polling, refresh). */
  reload(quiet?: boolean): Promise<void>;
  setData(d: T): void;
}

/** Loads data when the dependencies change; a stale answer never overwrites a newer one. */
export function useResource<T>(load: () => Promise<T>, deps: DependencyList): Resource<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const run = useCallback(async (quiet = false) => {
    const n = ++seq.current;
    if (!quiet) setLoading(true);
    try {
      const d = await load();
      if (n !== seq.current) return;
      setData(d);
      setError(undefined);
    } catch (e) {
      if (n !== seq.current) return;
      setError(messageOf(e));
    } finally {
      if (n === seq.current) setLoading(false);
    }
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to reload
  }, deps);
  useEffect(() => {
    setData(undefined);
    void run();
    return () => {
      seq.current++;
    };
  }, [run]);
  return { data, error, loading, reload: run, setData };
}

/** Calls `fn` every `ms` while `enabled` and the page is visible. */
export function useInterval(fn: () => void, ms: number, enabled = true): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (!enabled) return;
    const id = window.setInterval(() => {
      if (document.visibilityState === "visible") ref.current();
    }, ms);
    return () => window.clearInterval(id);
  }, [ms, enabled]);
}

/** Sets the document title for the page. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · nocbridge` : "nocbridge";
  }, [title]);
}
