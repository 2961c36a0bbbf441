import { Cron } from "croner";
import type { Jobs } from "../jobs/types.js";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import { DEFAULT_ASSET_SCHEDULE } from "../portal/catalog.js";
import { scheduleProblem } from "../portal/schedule.js";
import type { SyncPortal } from "./portal-port.js";

/** The job that starts a partner's scheduled asset sync. */
export const SCHEDULE_TASK = "assets.schedule";
const keyOf = (partnerId: number) => `schedule:${partnerId}`;

/**
 * The partners' asset-sync schedules. A partner's next scheduled run is one job, due at the next time
 * its cron expression names in the partner's time zone and keyed by the partner: however many
 * processes there are, it fires once; it survives restarts (on PostgreSQL the job is a row); saving a
 * new schedule replaces it. When it fires, the run starts and the job after it is added.
 */
export class AssetScheduler {
  constructor(
    private readonly o: {
      portal: SyncPortal;
      logger: Logger;
      jobs: Jobs;
      clock: Clock;
      /** Starts the partner's scheduled run (and handles its failure to start). */
      fire(partnerId: number): Promise<void>;
    },
  ) {}

  /** The partner's cron expression (null when device sync is off) and time zone. */
  async #pattern(partnerId: number): Promise<{ pattern: string | null; timeZone: string }> {
    const { view, timeZone } = await this.o.portal.integration(partnerId);
    if (!view.devices.enabled) return { pattern: null, timeZone };
    // A schedule saved before the once-an-hour rule existed falls back to the default.
    const problem = scheduleProblem(view.devices.schedule);
    if (problem) this.o.logger.warn({ partnerId, problem }, "asset schedule refused; using the default");
    return { pattern: problem ? DEFAULT_ASSET_SCHEDULE : view.devices.schedule, timeZone };
  }

  /**
   * (Re)creates the partner's next scheduled run from its settings. `keepDue`: a worker starting up
   * keeps a due time already stored (a run missed while no worker ran then fires at once).
   */
  async reschedule(partnerId: number, o: { keepDue?: boolean } = {}): Promise<void> {
    const { pattern, timeZone } = await this.#pattern(partnerId);
    if (pattern === null) {
      await this.o.jobs.remove(keyOf(partnerId));
      return;
    }
    const now = this.o.clock.now();
    const [next] = nextRuns(pattern, timeZone, now);
    if (!next) return;
    // Due after the same wait on the job engine's own clock (tests run the engine's clock elsewhere).
    const runAt = new Date(Date.now() + (next.getTime() - now.getTime()));
    await this.o.jobs.add(
      SCHEDULE_TASK,
      { partnerId },
      { key: keyOf(partnerId), runAt, ...(o.keepDue ? { keyMode: "preserve_run_at" as const } : {}) },
    );
  }

  /** The job's handler: the run starts, and the next time is scheduled whatever happened. */
  async fired(partnerId: number): Promise<void> {
    try {
      await this.o.fire(partnerId);
    } finally {
      await this.reschedule(partnerId);
    }
  }

  /** The partner's schedule and when it fires next (null without one). */
  async of(partnerId: number): Promise<{ nextRunAt: string | null; schedule: string | null }> {
    const { pattern, timeZone } = await this.#pattern(partnerId);
    if (pattern === null) return { nextRunAt: null, schedule: null };
    const [next] = nextRuns(pattern, timeZone, this.o.clock.now());
    return { nextRunAt: next?.toISOString() ?? null, schedule: pattern };
  }
}

/** The next times a schedule fires after `from`, in the partner's time zone (pure; used by tests and the UI). */
export function nextRuns(expression: string, timeZone: string, from: Date, count = 1): Date[] {
  const cron = new Cron(expression, { timezone: timeZone, paused: true });
  return cron.nextRuns(count, from);
}
