import { useCallback, useEffect, useRef, useState } from "react";
import { api, get } from "../../api";
import type { RunStatus, SyncRunDetail } from "../../types";
import type { LiveProgress } from "./progress";

export interface Live {
  runId: number;
  dryRun: boolean;
  lines: string[];
  progress: LiveProgress | null;
  status: RunStatus;
}

/** A stored run's progress as the live log shows it (null until its total is known). */
export function progressOf(run: SyncRunDetail): LiveProgress | null {
  const p = run.progress;
  return p.total === null ? null : { ...p, total: p.total, counts: run.counts };
}

/**
 * Follows a run's log as it is written: server-sent events from GET /api/sync-runs/:id/events.
 * EventSource cannot send headers, and a token in a URL would be logged, so a single-use stream
 * ticket is asked for first and only that goes in the URL. When the stream breaks (or no ticket can
 * be had), the run is read until it finishes.
 */
export function useRunStream(onFinished: (runId: number, status: RunStatus) => void) {
  const [live, setLive] = useState<Live | null>(null);
  const es = useRef<EventSource | null>(null);
  const poll = useRef<number | null>(null);
  /** Bumped by every follow and stop, so a ticket that arrives late opens nothing. */
  const generation = useRef(0);
  const done = useRef(onFinished);
  done.current = onFinished;

  const stop = useCallback(() => {
    generation.current += 1;
    es.current?.close();
    es.current = null;
    if (poll.current !== null) window.clearTimeout(poll.current);
    poll.current = null;
  }, []);

  const follow = useCallback(
    (runId: number, dryRun: boolean) => {
      stop();
      const mine = generation.current;
      setLive({ runId, dryRun, lines: [], progress: null, status: "running" });
      // Reads the run until it has finished (the stream broke: server restart, proxy).
      const readUntilDone = () => {
        const tick = async () => {
          if (generation.current !== mine) return;
          try {
            const run = await get<SyncRunDetail>(`/api/sync-runs/${runId}`);
            setLive((l) =>
              l && l.runId === runId
                ? { ...l, lines: run.log, status: run.status, progress: progressOf(run) ?? l.progress }
                : l,
            );
            if (run.status !== "running") {
              done.current(runId, run.status);
              return;
            }
          } catch {
            /* try again */
          }
          if (generation.current === mine) poll.current = window.setTimeout(() => void tick(), 2000);
        };
        void tick();
      };
      const open = async () => {
        let ticket: string;
        try {
          ticket = (await api<{ ticket: string }>("POST", `/api/sync-runs/${runId}/stream-ticket`)).ticket;
        } catch {
          readUntilDone();
          return;
        }
        if (generation.current !== mine) return;
        const source = new EventSource(`/api/sync-runs/${runId}/events?ticket=${encodeURIComponent(ticket)}`);
        es.current = source;
        let finished = false;
        source.addEventListener("line", (e) => {
          const { text } = JSON.parse((e as MessageEvent<string>).data) as { text: string };
          setLive((l) => (l && l.runId === runId ? { ...l, lines: [...l.lines, text] } : l));
        });
        source.addEventListener("progress", (e) => {
          const p = JSON.parse((e as MessageEvent<string>).data) as LiveProgress;
          setLive((l) => (l && l.runId === runId ? { ...l, progress: p } : l));
        });
        source.addEventListener("status", (e) => {
          const { status } = JSON.parse((e as MessageEvent<string>).data) as { status: RunStatus };
          finished = true;
          source.close();
          if (es.current === source) es.current = null;
          setLive((l) => (l && l.runId === runId ? { ...l, status } : l));
          done.current(runId, status);
        });
        source.onerror = () => {
          if (finished) return;
          // A ticket is good once: rather than let EventSource reconnect with it, read the run.
          source.close();
          if (es.current === source) es.current = null;
          readUntilDone();
        };
        // Attached mid-run: the stored progress until the next event.
        get<SyncRunDetail>(`/api/sync-runs/${runId}`)
          .then((run) => {
            const p = progressOf(run);
            if (p) setLive((l) => (l && l.runId === runId && !l.progress ? { ...l, progress: p } : l));
          })
          .catch(() => {});
      };
      void open();
    },
    [stop],
  );

  /** Shows a run's stored log and status in the log window when it is the one there (after a cancel). */
  const show = useCallback((run: SyncRunDetail) => {
    setLive((l) => (l && l.runId === run.id ? { ...l, lines: run.log, status: run.status } : l));
  }, []);

  useEffect(() => stop, [stop]);
  return { live, follow, show, clear: () => setLive(null) };
}
