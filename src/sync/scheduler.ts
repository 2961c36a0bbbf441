import { Cron } from "croner";
import type { Logger } from "../lib/logger.js";
import { DEFAULT_ASSET_SCHEDULE } from "../portal/catalog.js";
import { scheduleProblem } from "../portal/schedule.js";
import type { SyncPortal } from "./portal-port.js";

/**
 * The partners' asset-sync schedules: one cron per partner with device integration on, in the
 * partner's time zone. Only a long-running server schedules (`activate`); a one-off command does not.
 */
export class AssetScheduler {
  readonly #crons = new Map<number, Cron>();
  #active = false;

  constructor(
    private readonly o: {
      portal: SyncPortal;
      logger: Logger;
      /** Starts the partner's scheduled run (and handles its failure to start). */
      fire(partnerId: number): void;
    },
  ) {}

  activate(): void {
    this.#active = true;
  }

  /** (Re)creates the partner's asset schedule from its settings, in the partner's time zone. */
  async reschedule(partnerId: number): Promise<void> {
    this.#crons.get(partnerId)?.stop();
    this.#crons.delete(partnerId);
    if (!this.#active) return;
    const { view, timeZone } = await this.o.portal.integration(partnerId);
    if (!view.devices.enabled) return;
    // A schedule saved before the once-an-hour rule existed falls back to the default.
    const problem = scheduleProblem(view.devices.schedule);
    if (problem) this.o.logger.warn({ partnerId, problem }, "asset schedule refused; using the default");
    const pattern = problem ? DEFAULT_ASSET_SCHEDULE : view.devices.schedule;
    const cron = new Cron(pattern, { timezone: timeZone, protect: true }, () => this.o.fire(partnerId));
    this.#crons.set(partnerId, cron);
  }

  /** The partner's schedule and when it fires next (null without one). */
  of(partnerId: number): { nextRunAt: string | null; schedule: string | null } {
    const cron = this.#crons.get(partnerId);
    return { nextRunAt: cron?.nextRun()?.toISOString() ?? null, schedule: cron?.getPattern() ?? null };
  }

  stop(): void {
    this.#active = false;
    for (const c of this.#crons.values()) c.stop();
    this.#crons.clear();
  }
}

/** The next times a schedule fires after `from`, in the partner's time zone (pure; used by tests and the UI). */
export function nextRuns(expression: string, timeZone: string, from: Date, count = 1): Date[] {
  const cron = new Cron(expression, { timezone: timeZone, paused: true });
  return cron.nextRuns(count, from);
}
