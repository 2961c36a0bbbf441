/** A plan's counts: what a dry run's row, its log and the CLI's summary say it would do. */
import type { AssetPlan, PlanAction } from "./assets.js";
import { type RunCounts, ZERO_COUNTS } from "./runs.js";

/** 3050 → "3,050" in log lines. */
export const n = (x: number) => x.toLocaleString("en-US");

/** Which count a planned action becomes: what a dry run's row shows (a conflict would fail). */
export const PLANNED: Record<PlanAction, keyof RunCounts> = {
  create: "created",
  update: "updated",
  deactivate: "deactivated",
  unchanged: "unchanged",
  conflict: "failed",
};

/** A plan's counts as a run's: a dry run's row and the CLI's summary show what it would do. */
export function plannedCounts(plan: AssetPlan): RunCounts {
  const c = { ...ZERO_COUNTS };
  for (const i of [...plan.clients.flatMap((p) => p.items), ...plan.orphans]) c[PLANNED[i.action]]++;
  return c;
}

export function summarise(plan: {
  clients: Array<{ items: Array<{ action: string }> }>;
  orphans: Array<{ action: string }>;
}) {
  const s = { create: 0, update: 0, deactivate: 0, unchanged: 0, conflict: 0 };
  for (const i of [...plan.clients.flatMap((c) => c.items), ...plan.orphans]) s[i.action as keyof typeof s]++;
  return s;
}
