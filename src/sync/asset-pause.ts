/**
 * Pausing an asset run at the PSA's hourly API budget (src/psa/budget.ts): the run stops writing when
 * it reaches its share, keeps its place as the partner's active run, and a job goes on with it once the
 * window has moved on. Going on is a new plan over what is saved: the device links (with the
 * fingerprint of what was written) make every device already done plan as unchanged, so nothing is
 * written twice and the run's counts add up over its legs.
 */
import { BUDGET_WAIT_MS } from "../psa/budget.js";
import type { Check } from "../psa/connector.js";
import { isPsaError, type PsaError } from "../psa/errors.js";
import type { RunCounts } from "./runs.js";

export const RESUMED_LINE = "Resumed after the hourly API limit.";

/**
 * Whether `e` is the budget refusing a request: the PSA client, past the share this traffic may use,
 * or the PSA itself at its threshold once the client's retries gave up.
 */
export const isBudgetStop = (e: unknown): e is PsaError =>
  isPsaError(e) && (e.code === "BUDGET_EXHAUSTED" || e.code === "RATE_LIMITED");

/**
 * A failed checklist that found nothing wrong but the budget (the check reads ThresholdInformation
 * first and stops there): the run waits instead of failing. The figures, or null for another finding.
 */
export function budgetOnly(failed: Check[]): string | null {
  if (failed.length === 0 || !failed.every((c) => c.name === "budget")) return null;
  return failed.map((c) => c.message).join(" ");
}

/**
 * When the run goes on: the time the PSA client named (it reads the budget again then; Autotask's
 * window is the last 60 minutes, so it frees up as old requests leave it), else `fallbackMs` from now
 * (BUDGET_WAIT_MS, as ticket sync waits). Never sooner than a second away.
 */
export function resumeAt(now: Date, retryAfterMs: number | undefined, fallbackMs = BUDGET_WAIT_MS): Date {
  const ms = retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : fallbackMs;
  return new Date(now.getTime() + Math.max(1000, ms));
}

/** "14:05": the time of day in the partner's time zone (the UI shows the partner's times the same way). */
export function clockTime(at: Date, timeZone: string): string {
  const f = (tz: string) =>
    new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  try {
    return f(timeZone).format(at);
  } catch {
    return f("UTC").format(at); // a zone this runtime does not know: UTC rather than no time
  }
}

export function pausedLine(until: Date, timeZone: string, figures: string): string {
  return `Paused at the hourly API limit; resuming at ${clockTime(until, timeZone)}. ${figures}`;
}

/**
 * The run's counts after one more leg. A leg plans every device again: those written in earlier legs
 * now plan as unchanged (their links carry what was written), and those that failed are tried again.
 * So written counts add up, failures are the last leg's, and "unchanged" leaves out what earlier legs wrote.
 */
export function addLeg(prior: RunCounts, leg: RunCounts): RunCounts {
  const written = prior.created + prior.updated + prior.deactivated;
  return {
    created: prior.created + leg.created,
    updated: prior.updated + leg.updated,
    deactivated: prior.deactivated + leg.deactivated,
    unchanged: Math.max(0, leg.unchanged - written),
    failed: leg.failed,
  };
}
