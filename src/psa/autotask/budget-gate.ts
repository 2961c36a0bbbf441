/**
 * Hourly-budget pacing of the Autotask REST client (client.ts): docs/autotask.md, Thresholds and limits;
 * docs/reliability.md, Rate-limit awareness. The usage view is the last ThresholdInformation plus the
 * requests sent since: by every process counting in the partner's ledger when the client was given one
 * (docs/scale-out.md, The hourly API budget), else by this client.
 */

import { budgetFigures, currentBudgetLane } from "../budget.js";
import { BudgetCount, type BudgetLedger, type BudgetUsage, memoryBudgetLedger } from "../budget-ledger.js";
import { PsaError } from "../errors.js";
import type { AutotaskClientStats, BudgetOptions, ClientContext } from "./client-types.js";
import { parseThreshold } from "./responses.js";
import type { ThresholdInformation } from "./types.js";

/**
 * How close to a stop share every request syncs with the ledger rather than once a batch: the last
 * requests before the stop see every process's count as of the request before.
 */
export const NEAR_STOP = Object.freeze({ requests: 50, share: 0.01 });

export class BudgetTracker {
  private readonly count: BudgetCount;
  private refreshing: Promise<BudgetUsage> | null = null;
  /** Read ThresholdInformation at the first gate, whatever the ledger holds (it may be another tenant's). */
  private started = false;

  /**
   * `opts` null: no pacing (the view is still kept from `record` and `noteSent`, in memory). `readThreshold`
   * sends `GET ThresholdInformation` past the gate and returns its body. `ledger`: where the processes
   * serving the partner count together; without one, this client counts by itself.
   */
  constructor(
    private readonly ctx: ClientContext,
    private readonly opts: BudgetOptions | null,
    private readonly readThreshold: () => Promise<unknown>,
    ledger?: BudgetLedger,
  ) {
    this.count = new BudgetCount(opts && ledger ? ledger : memoryBudgetLedger(), {
      now: ctx.now,
      onError: (err) =>
        ctx.log?.warn(
          { err },
          "the shared API budget count failed; counting this process's requests meanwhile",
        ),
    });
  }

  /** A fresh ThresholdInformation: the view starts again from it. */
  async record(info: ThresholdInformation): Promise<BudgetUsage> {
    const usage = await this.count.record({
      count: info.currentTimeframeRequestCount,
      threshold: info.externalRequestThreshold,
      timeframeMinutes: info.requestThresholdTimeframe,
      at: this.ctx.now(),
    });
    this.report(usage);
    return usage;
  }

  /** One of our requests is going out. */
  noteSent(): void {
    this.count.noteSent();
    const usage = this.count.view();
    if (usage) this.report(usage);
  }

  /** The share used, to the metrics (the gauge shows what the gate decides on). */
  private report(u: BudgetUsage): void {
    this.ctx.observe?.budget(usageShare(u));
  }

  view(): AutotaskClientStats["budget"] {
    const u = this.count.view();
    return u
      ? {
          threshold: u.reading.threshold,
          timeframeMinutes: u.reading.timeframeMinutes,
          reportedCount: u.reading.count,
          sentSince: u.sentSince,
          share: usageShare(u),
        }
      : null;
  }

  private async refresh(): Promise<BudgetUsage> {
    this.refreshing ??= (async () => {
      try {
        const body = await this.readThreshold();
        this.started = true;
        return await this.record(parseThreshold(body));
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /**
   * Before each request: keep the usage view fresh (ThresholdInformation at start, then every
   * `refreshEvery`, counted over every process sharing the ledger), add a growing delay past
   * `slowdownShare`, and refuse past `stopShare` — leaving the rest of the tenant's hourly allowance to
   * ticket traffic and other integrations. Autotask itself slows every request by 0.5–1 s past 50 % usage
   * and refuses at 100 % (docs/autotask.md, Thresholds and limits).
   */
  async gate(): Promise<void> {
    const opts = this.opts;
    if (!opts) return;
    const tickets = currentBudgetLane() === "tickets";
    const stopShare = tickets ? opts.ticketStopShare : opts.stopShare;
    const stale = (u: BudgetUsage) =>
      u.sentSince >= opts.refreshEvery.requests || this.ctx.now() - u.reading.at >= opts.refreshEvery.ms;
    let u = this.started ? await this.count.current((v) => nearStop(v, stopShare)) : null;
    if (!u || stale(u)) u = await this.refresh();
    let share = usageShare(u);
    if (share >= stopShare && u.sentSince > 0) {
      // The count since only grows; the window also forgets old requests. Confirm before refusing.
      u = await this.refresh();
      share = usageShare(u);
    }
    if (share >= stopShare) {
      const used = u.reading.count + u.sentSince;
      const figures = budgetFigures(used, u.reading.threshold, u.reading.timeframeMinutes);
      const pct = Math.round(stopShare * 100);
      throw new PsaError({
        code: "BUDGET_EXHAUSTED",
        retryable: false,
        // When to look again: the usage view is re-read then (the hour's window moves on meanwhile).
        retryAfterMs: opts.refreshEvery.ms,
        message: tickets
          ? `${figures}; ticket sync waits at ${pct} % and goes on by itself as the hour's window moves on`
          : `${figures}; asset syncs and live reads stop at ${pct} % to keep the rest for ticket sync`,
      });
    }
    if (share > opts.slowdownShare) {
      const span = Math.max(1e-9, stopShare - opts.slowdownShare);
      const delay = Math.round(opts.slowdownMaxDelayMs * Math.min(1, (share - opts.slowdownShare) / span));
      if (delay > 0) {
        this.ctx.counters.throttledMs += delay;
        await this.ctx.sleep(delay);
      }
    }
  }
}

function usageShare(u: BudgetUsage): number {
  return (u.reading.count + u.sentSince) / Math.max(1, u.reading.threshold);
}

/** Whether `u` is within NEAR_STOP of `stopShare` (below it: past it, the gate confirms by a reading). */
function nearStop(u: BudgetUsage, stopShare: number): boolean {
  const threshold = Math.max(1, u.reading.threshold);
  const left = stopShare * threshold - (u.reading.count + u.sentSince);
  return left > 0 && left <= Math.max(NEAR_STOP.requests, NEAR_STOP.share * threshold);
}
