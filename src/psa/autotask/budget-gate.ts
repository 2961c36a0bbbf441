/**
 * Hourly-budget pacing of the Autotask REST client (client.ts): docs/autotask.md, Thresholds and limits;
 * docs/reliability.md, Rate-limit awareness. The usage view is the last ThresholdInformation plus the
 * requests this client sent since.
 */

import { budgetFigures, currentBudgetLane } from "../budget.js";
import { PsaError } from "../errors.js";
import type { AutotaskClientStats, BudgetOptions, BudgetState, ClientContext } from "./client-types.js";
import { parseThreshold } from "./responses.js";
import type { ThresholdInformation } from "./types.js";

export class BudgetTracker {
  private budget: BudgetState | null = null;
  private refreshing: Promise<void> | null = null;

  /**
   * `opts` null: no pacing (the view is still kept from `record` and `noteSent`). `readThreshold` sends
   * `GET ThresholdInformation` past the gate and returns its body.
   */
  constructor(
    private readonly ctx: ClientContext,
    private readonly opts: BudgetOptions | null,
    private readonly readThreshold: () => Promise<unknown>,
  ) {}

  /** A fresh ThresholdInformation: the view starts again from it. */
  record(info: ThresholdInformation): void {
    this.budget = { info, fetchedAt: this.ctx.now(), sentSince: 0 };
    this.report(this.budget);
  }

  /** One of our requests is going out. */
  noteSent(): void {
    if (!this.budget) return;
    this.budget.sentSince++;
    this.report(this.budget);
  }

  /** The share used, to the metrics (the gauge shows what the gate decides on). */
  private report(b: BudgetState): void {
    this.ctx.observe?.budget(this.usageShare(b));
  }

  view(): AutotaskClientStats["budget"] {
    const b = this.budget;
    return b
      ? {
          threshold: b.info.externalRequestThreshold,
          timeframeMinutes: b.info.requestThresholdTimeframe,
          reportedCount: b.info.currentTimeframeRequestCount,
          sentSince: b.sentSince,
          share: this.usageShare(b),
        }
      : null;
  }

  private usageShare(b: BudgetState): number {
    const threshold = Math.max(1, b.info.externalRequestThreshold);
    return (b.info.currentTimeframeRequestCount + b.sentSince) / threshold;
  }

  private async refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const body = await this.readThreshold();
        this.record(parseThreshold(body));
      } finally {
        this.refreshing = null;
      }
    })();
    await this.refreshing;
  }

  /**
   * Before each request: keep the usage view fresh (ThresholdInformation at start, then every
   * `refreshEvery`), add a growing delay past `slowdownShare`, and refuse past `stopShare` — leaving
   * the rest of the tenant's hourly allowance to ticket traffic and other integrations. Autotask itself
   * slows every request by 0.5–1 s past 50 % usage and refuses at 100 % (docs/autotask.md, Thresholds and
   * limits).
   */
  async gate(): Promise<void> {
    const opts = this.opts;
    if (!opts) return;
    const stale = (b: BudgetState) =>
      b.sentSince >= opts.refreshEvery.requests || this.ctx.now() - b.fetchedAt >= opts.refreshEvery.ms;
    if (!this.budget || stale(this.budget)) await this.refresh();
    let b = this.budget as BudgetState | null;
    if (!b) return;
    const tickets = currentBudgetLane() === "tickets";
    const stopShare = tickets ? opts.ticketStopShare : opts.stopShare;
    let share = this.usageShare(b);
    if (share >= stopShare && b.sentSince > 0) {
      // Our own count only grows; the window also forgets old requests. Confirm before refusing.
      await this.refresh();
      b = this.budget as BudgetState | null;
      if (!b) return;
      share = this.usageShare(b);
    }
    if (share >= stopShare) {
      const used = b.info.currentTimeframeRequestCount + b.sentSince;
      const figures = budgetFigures(used, b.info.externalRequestThreshold, b.info.requestThresholdTimeframe);
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
