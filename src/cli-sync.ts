import { Presets, SingleBar } from "cli-progress";
import type { Services } from "./main.js";
import type { RunEvent, SyncRunDetail } from "./sync/runs.js";

/** The `sync assets` command's output: the live log with a progress bar, the summary and the plan. */

const PHASE_TEXT = { planning: "planning", writing: "writing" } as const;

/** 1234 → "1,234" (the same grouping whatever the machine's locale). */
export const grouped = (n: number) => n.toLocaleString("en-US");

/** "1.2 s", "3 min 4 s". */
export function took(ms: number | null): string {
  if (ms === null) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The rate (devices a second) and the seconds left, from a progress event and the time now. */
export function rateOf(
  p: { done: number; total: number; phaseStartedAt: string | null },
  now: number,
): { perSecond: number; etaSeconds: number | null } {
  const elapsed = p.phaseStartedAt ? (now - new Date(p.phaseStartedAt).getTime()) / 1000 : 0;
  const perSecond = elapsed > 0 ? p.done / elapsed : 0;
  return { perSecond, etaSeconds: perSecond > 0 ? Math.ceil((p.total - p.done) / perSecond) : null };
}

/**
 * Prints the run's log lines as they come, with a progress bar on a terminal; resolves when the run
 * stops (finished or held for approval). The run may execute here or in another process on the same
 * database (a server's run this command joined): either way its log, progress and status come from the
 * store, and what is returned is the stored run once it has stopped, with its true counts.
 */
export async function followRun(s: Services, runId: number, print: boolean): Promise<SyncRunDetail> {
  const bar =
    print && process.stderr.isTTY
      ? new SingleBar(
          {
            format: " {phase} {bar} {value}/{total} devices, {percentage}% · {rate}/s · ETA {eta_formatted}",
            stream: process.stderr,
            clearOnComplete: true,
            etaBuffer: 50,
          },
          Presets.shades_classic,
        )
      : null;
  let shown: string | null = null; // the phase the bar shows
  let stopped: () => void = () => {};
  // The feed gives every line before the status that ends the run, so once that status is here the
  // whole log has been printed.
  const stop = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  const off = s.sync.subscribe(runId, (e: RunEvent) => {
    if (e.type === "status") {
      if (e.status !== "running") stopped();
      return;
    }
    if (!print) return;
    if (e.type === "line") {
      if (bar && shown) bar.stop();
      shown = null;
      console.log(e.text);
    } else if (e.type === "progress" && bar && e.phase) {
      const payload = {
        phase: PHASE_TEXT[e.phase],
        rate: rateOf(e, Date.now()).perSecond.toFixed(1),
      };
      if (shown !== e.phase) {
        if (shown) bar.stop();
        bar.start(e.total, e.done, payload);
        shown = e.phase;
      } else bar.update(e.done, payload);
    }
  });
  // The feed's timer does not hold the process up (a forgotten watcher must not): this wait does.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    await s.sync.wait(runId); // the run's execution in this process, if it is here
    await stop;
    return (await s.sync.runs.get(runId)) as SyncRunDetail;
  } finally {
    clearInterval(keepAlive);
    off();
    if (bar && shown) bar.stop();
  }
}

/**
 * One line for a finished (or held) run: its counts, a dry run's as what it would do (they are its
 * plan's), the PSA calls and how long it took (a wait for approval left out).
 */
export function runSummary(run: SyncRunDetail): string {
  const c = run.counts;
  const what = run.dryRun
    ? `would create ${grouped(c.created)}, update ${grouped(c.updated)}, deactivate ${grouped(c.deactivated)}; ${grouped(c.unchanged)} unchanged, ${grouped(c.failed)} conflicts`
    : `created ${grouped(c.created)}, updated ${grouped(c.updated)}, deactivated ${grouped(c.deactivated)}, unchanged ${grouped(c.unchanged)}, failed ${grouped(c.failed)}`;
  const waited = run.waitedMs > 0 ? ` (${took(run.waitedMs)} waiting for approval not counted)` : "";
  const time = run.durationMs === null ? "" : `; took ${took(run.durationMs)}${waited}`;
  return `run ${run.id}${run.dryRun ? " (dry run)" : ""}: ${run.status} — ${what}; ${grouped(run.apiCalls)} API calls${time}`;
}

export function printPlan(plan: unknown): void {
  const p = plan as {
    clients?: Array<{
      code: string;
      name?: string;
      companyId: number;
      companyName?: string | null;
      items: Array<{
        hostname: string;
        action: string;
        ciId?: number;
        changes?: Record<string, { from: unknown; to: unknown }>;
      }>;
    }>;
  } | null;
  for (const c of p?.clients ?? []) {
    const company = c.companyName ? `${c.companyName} (${c.companyId})` : `company ${c.companyId}`;
    console.log(`client:${c.code}${c.name ? ` ${c.name}` : ""} → ${company}`);
    for (const i of c.items) {
      if (i.action === "unchanged") continue;
      console.log(`  ${i.action.padEnd(10)} ${i.hostname}${i.ciId ? ` (CI ${i.ciId})` : ""}`);
      for (const [k, ch] of Object.entries(i.changes ?? {}))
        console.log(`      ${k}: ${JSON.stringify(ch.from)} → ${JSON.stringify(ch.to)}`);
    }
  }
}
