import { useState } from "react";
import { get } from "../../api";
import { Badge, Loading, runTone } from "../../components";
import { formatDateTime, RUN_STATUS_TEXT } from "../../format";
import { useResource } from "../../hooks";
import type { RunCounts, SyncRun, SyncRunDetail } from "../../types";
import { countsText, formatMs, grouped, type LiveProgress, percent } from "./progress";

/** The run the page follows, live: its row shows these counts (the stored ones lag by a write). */
export interface LiveRow {
  runId: number;
  progress: LiveProgress | null;
}

/** What "Took" shows: finished − started − the wait for approval; a running run's progress. */
function tookText(r: SyncRun, p: { done: number; total: number | null } | null): string {
  if (r.durationMs !== null) return formatMs(r.durationMs);
  if (r.status === "awaiting-approval") return "waiting";
  if (r.status === "running" && p && p.total) return `running, ${percent(p.done, p.total)}%`;
  return r.status === "running" ? "running" : "—";
}

/** Asset sync runs, newest first: counts (live while a run goes; a dry run's are its plan's), calls, time. */
export function History({
  runs,
  timeZone,
  live,
}: {
  runs: SyncRun[];
  timeZone: string;
  live: LiveRow | null;
}) {
  const [open, setOpen] = useState<number | null>(null);
  const detail = useResource(
    () => (open === null ? Promise.resolve(null) : get<SyncRunDetail>(`/api/sync-runs/${open}`)),
    [open],
  );
  if (runs.length === 0) return <p className="muted">No sync has run yet.</p>;
  return (
    <div className="table-wrap">
      <table className="history">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Started</th>
            <th scope="col">Trigger</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Created
            </th>
            <th scope="col" className="num">
              Updated
            </th>
            <th scope="col" className="num">
              Deactivated
            </th>
            <th scope="col" className="num">
              Unchanged
            </th>
            <th scope="col" className="num">
              Failed
            </th>
            <th scope="col" className="num">
              API calls
            </th>
            <th scope="col">Took</th>
            <th scope="col">
              <span className="sr-only">Log</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <HistoryRow
              key={r.id}
              run={withLive(r, live)}
              timeZone={timeZone}
              open={open === r.id}
              onToggle={() => setOpen(open === r.id ? null : r.id)}
              log={open === r.id ? (detail.data?.log ?? null) : null}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A running row with the live counts when they are ahead of the stored ones. */
function withLive(r: SyncRun, live: LiveRow | null): SyncRun {
  const p = live?.runId === r.id && r.status === "running" ? live.progress : null;
  if (!p) return r;
  const sum = (c: RunCounts) => c.created + c.updated + c.deactivated + c.unchanged + c.failed;
  if (sum(p.counts) < sum(r.counts)) return r;
  return {
    ...r,
    counts: p.counts,
    progress: { ...r.progress, phase: p.phase, done: p.done, total: p.total },
  };
}

function HistoryRow({
  run: r,
  timeZone,
  open,
  onToggle,
  log,
}: {
  run: SyncRun;
  timeZone: string;
  open: boolean;
  onToggle(): void;
  log: string[] | null;
}) {
  return (
    <>
      <tr data-run={r.id}>
        <td data-label="Run">#{r.id}</td>
        <td data-label="Started">{formatDateTime(r.startedAt, timeZone)}</td>
        <td data-label="Trigger">
          {r.trigger}
          {r.dryRun ? " · dry run" : ""}
        </td>
        <td data-label="Status">
          <Badge tone={runTone(r.status)}>{RUN_STATUS_TEXT[r.status] ?? r.status}</Badge>
          {r.error && (r.status === "failed" || r.status === "partial") ? (
            <div className="small muted run-error">{r.error}</div>
          ) : null}
        </td>
        <td className="phone-only" data-label="Counts">
          {countsText(r.counts, r.dryRun)}
        </td>
        <td className="num hide-phone" data-label="Created">
          {grouped(r.counts.created)}
        </td>
        <td className="num hide-phone" data-label="Updated">
          {grouped(r.counts.updated)}
        </td>
        <td className="num hide-phone" data-label="Deactivated">
          {grouped(r.counts.deactivated)}
        </td>
        <td className="num hide-phone" data-label="Unchanged">
          {grouped(r.counts.unchanged)}
        </td>
        <td className="num hide-phone" data-label="Failed">
          {grouped(r.counts.failed)}
        </td>
        <td className="num" data-label="API calls">
          {grouped(r.apiCalls)}
        </td>
        <td className="hide-phone" data-label="Took">
          {tookText(r, r.progress)}
          {r.waitedMs > 0 ? (
            <div className="small muted">+ {formatMs(r.waitedMs)} waiting for approval</div>
          ) : null}
        </td>
        <td>
          <button type="button" className="link" aria-expanded={open} onClick={onToggle}>
            {open ? "Hide log" : "Log"}
          </button>
        </td>
      </tr>
      {open ? (
        <tr className="log-row">
          <td colSpan={13}>
            {log === null ? (
              <Loading />
            ) : (
              <ol className="log-lines short">
                {log.map((l, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: log lines are append-only
                  <li key={i}>{l}</li>
                ))}
              </ol>
            )}
          </td>
        </tr>
      ) : null}
    </>
  );
}
