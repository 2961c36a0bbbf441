import { type Ref, useEffect, useRef, useState } from "react";
import { Badge, runTone } from "../../components";
import { RUN_STATUS_TEXT } from "../../format";
import { countsText, formatMs, grouped, type LiveProgress, percent, rate } from "./progress";
import type { Live } from "./useRunStream";

const PHASE_TEXT = { planning: "Planning", writing: "Writing" } as const;

/**
 * Devices done of the run's total with the percentage, the rate and what is left ("Writing: 1,240 of
 * 3,050 devices, 41% · 25.3 devices/s · about 1 min 12 s left"), and the counts so far. The rate is
 * what this page has seen of the phase, so it appears once two readings differ.
 */
function Progress({ p, label, dryRun }: { p: LiveProgress; label: string; dryRun: boolean }) {
  const first = useRef<{ phase: string | null; at: number; done: number } | null>(null);
  if (!first.current || first.current.phase !== p.phase)
    first.current = { phase: p.phase, at: Date.now(), done: p.done };
  // Re-render each second so the estimate moves between events.
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  const pct = percent(p.done, p.total);
  const r = rate(first.current, p, Math.max(now, Date.now()));
  const phase = p.phase ? PHASE_TEXT[p.phase] : "Starting";
  const what = p.phase === "planning" ? ` matched against ${label}` : "";
  return (
    <div className="run-progress" data-testid="sync-progress">
      <progress max={p.total} value={p.done} aria-label="Devices processed">
        {pct}%
      </progress>
      <p className="run-progress-text" aria-live="polite" data-testid="sync-progress-text">
        <strong>{phase}:</strong>{" "}
        <span data-testid="sync-progress-count">
          {grouped(p.done)} of {grouped(p.total)} devices{what}, {pct}%
        </span>
        {r ? (
          <span className="muted">
            {" "}
            · {r.perSecond.toFixed(1)} devices/s · about {formatMs(r.leftMs)} left
          </span>
        ) : null}
      </p>
      <p className="small muted" data-testid="sync-progress-counts">
        {countsText(p.counts, dryRun)}
      </p>
    </div>
  );
}

/** The live log of the run being followed, its progress above it. `anchor`: scrolled to on Sync. */
export function LogWindow({
  live,
  label,
  anchor,
}: {
  live: Live | null;
  label: string;
  anchor?: Ref<HTMLDivElement>;
}) {
  const ref = useRef<HTMLOListElement>(null);
  const count = live?.lines.length ?? 0;
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll when a line arrives
  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [count]);
  const p = live?.progress;
  return (
    <div className="log" ref={anchor} data-testid="sync-live">
      <div className="log-head">
        <h3 id="log-title">Log{live ? ` — run #${live.runId}${live.dryRun ? " (dry run)" : ""}` : ""}</h3>
        {live ? (
          <Badge tone={runTone(live.status)}>{RUN_STATUS_TEXT[live.status] ?? live.status}</Badge>
        ) : null}
      </div>
      {p && p.total > 0 && live?.status === "running" ? (
        <Progress p={p} label={label} dryRun={live.dryRun} />
      ) : null}
      <ol
        ref={ref}
        className="log-lines"
        aria-labelledby="log-title"
        aria-live="polite"
        data-testid="sync-log"
      >
        {live ? (
          live.lines.map((l, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: log lines are append-only
            <li key={i}>{l}</li>
          ))
        ) : (
          <li className="muted">
            Press Sync to run the asset integration; its log appears here as it happens.
          </li>
        )}
      </ol>
    </div>
  );
}
