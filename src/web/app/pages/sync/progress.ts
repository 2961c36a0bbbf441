import type { RunCounts, SyncRun } from "../../types";

/** A run's progress as the live log receives it (server-sent "progress" events, or a read of the run). */
export interface LiveProgress {
  phase: SyncRun["progress"]["phase"];
  done: number;
  total: number;
  phaseStartedAt: string | null;
  counts: RunCounts;
}

/** 3050 → "3,050", whatever the browser's language (the page's numbers read alike everywhere). */
export const grouped = (n: number) => n.toLocaleString("en-US");

/** Share done, whole per cent, never 100 before the end. */
export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return done >= total ? 100 : Math.min(99, Math.floor((100 * done) / total));
}

/** "850 ms", "4.2 s", "3 min 4 s", "1 h 12 min". */
export function formatMs(ms: number | null): string {
  if (ms === null || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

/** The counts in one line ("36 created · 0 updated · …"); a dry run's are what it would do. */
export function countsText(c: RunCounts, dryRun: boolean): string {
  const parts = [
    `${grouped(c.created)} ${dryRun ? "to create" : "created"}`,
    `${grouped(c.updated)} ${dryRun ? "to update" : "updated"}`,
    `${grouped(c.deactivated)} ${dryRun ? "to deactivate" : "deactivated"}`,
    `${grouped(c.unchanged)} unchanged`,
    `${grouped(c.failed)} ${dryRun ? "conflicts" : "failed"}`,
  ];
  return parts.join(" · ");
}

/**
 * The rate and what is left, from what this page has seen of the phase: the first sample (time, done)
 * and the latest. The browser's own clock (the server's may differ); null until two samples differ.
 */
export function rate(
  first: { at: number; done: number } | null,
  p: { done: number; total: number },
  now: number,
): { perSecond: number; leftMs: number } | null {
  if (!first || now <= first.at || p.done <= first.done) return null;
  const perSecond = ((p.done - first.done) * 1000) / (now - first.at);
  return { perSecond, leftMs: ((p.total - p.done) / perSecond) * 1000 };
}
