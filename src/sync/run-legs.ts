import type { Jobs } from "../jobs/types.js";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import { pausedLine, resumeAt } from "./asset-pause.js";
import type { LinkOutcomes, WriteJournal, WriteOutcome } from "./link-outcomes.js";
import type { Liveness } from "./liveness.js";
import { type RunCounts, type RunStore, ZERO_COUNTS } from "./runs.js";

/**
 * The job that executes an asset run: in shared mode every run; in-process, a run that goes on after a
 * pause at the hourly API budget.
 */
export const RUN_TASK = "assets.run";

export interface RunJob {
  runId: number;
  partnerId: number;
  dryRun: boolean;
  approved: boolean;
  /** The run paused at the API budget and goes on from what it saved. */
  resumed?: boolean;
  /** The run goes on after a worker that was shutting down handed it over. */
  handedOver?: boolean;
}

export type RunMode = Omit<RunJob, "runId" | "partnerId">;

/** Where a leg of a run starts from: the run's counts and API calls so far, and its record of writes. */
export interface LegStart {
  counts: RunCounts;
  apiCalls: number;
  /** Shared mode: the leg records each write before it is sent (./link-outcomes.ts). */
  journal?: WriteJournal | undefined;
  /** A run taken over: what it wrote before, by device (those count by it, not as unchanged). */
  carried?: Map<number, WriteOutcome> | undefined;
}

export interface RunLegsDeps {
  runs: RunStore;
  logger: Logger;
  /** The job engine the run's jobs go to. */
  jobs: Jobs;
  clock: Clock;
  /** How long a paused run waits when the PSA client named no time (default BUDGET_WAIT_MS). */
  budgetWaitMs?: number | undefined;
  /** Shared mode: this worker process's liveness (undefined outside a worker process). */
  liveness?: (() => Liveness | undefined) | undefined;
  /** Shared mode: what each run wrote, for a takeover to count by. */
  outcomes?: LinkOutcomes | undefined;
}

/**
 * A run's legs: an asset run executes in one or more legs, each a job (RUN_TASK). A leg ends when the
 * run is done, or pauses at the hourly API budget (the next leg is due when the window has moved on),
 * or is handed over by a worker shutting down (the next leg is queued at once). In shared mode a leg
 * first claims the run: one no live process owns — new, paused, handed over, or its owner stopped
 * beating, when the run is taken over and goes on from what is saved (the links of the devices done,
 * so nothing done is written again).
 */
export class RunLegs {
  /** Runs this worker stopped writing because it shuts down; their jobs are added again (shared mode). */
  readonly #handedOver = new Set<number>();

  constructor(private readonly o: RunLegsDeps) {}

  /** The run's job; at `runAt` for a run paused at the API budget. */
  enqueue(job: RunJob, runAt?: Date): Promise<void> {
    return this.o.jobs.add(
      RUN_TASK,
      { ...job },
      { key: `run:${job.runId}`, queue: `assets:${job.partnerId}`, ...(runAt ? { runAt } : {}) },
    );
  }

  /**
   * In-process (after a restart): runs paused at the API budget go on at their time, or now if it
   * has passed. In shared mode their jobs are in the database already.
   */
  async schedulePaused(): Promise<void> {
    for (const r of await this.o.runs.paused())
      await this.enqueue(
        { runId: r.id, partnerId: r.partnerId, dryRun: r.dryRun, approved: r.approved, resumed: true },
        new Date(r.pausedUntil),
      );
  }

  /**
   * Shared mode: the worker claims the run and executes this leg (`execute`); a run a live process
   * owns is left. Ownership is let go when the leg ends; a leg handed over at shutdown queues the next.
   */
  async claimed(
    job: RunJob,
    workerId: string,
    execute: (takenOver: boolean) => Promise<void>,
  ): Promise<void> {
    const liveness = this.o.liveness?.();
    if (!liveness) throw new Error("asset run jobs run only in a worker process");
    const claim = await liveness.claimRun(job.runId);
    if (!claim) return;
    if (claim.from !== null)
      await this.o.runs.line(
        job.runId,
        `Taken over by worker ${liveness.id}: worker ${claim.from} stopped (last heartbeat ${claim.beatAt ?? "never"}). Continuing from the devices already synchronized.`,
        "warn",
      );
    this.o.logger.debug({ runId: job.runId, workerId }, "asset run claimed");
    await execute(claim.from !== null).finally(() => liveness.releaseRun(job.runId).catch(() => {}));
    // Shutting down: the run was left at a safe point; its job is added again for another worker
    // (after ownership was let go, so that worker may claim it at once).
    if (this.#handedOver.delete(job.runId)) await this.enqueue({ ...job, resumed: true, handedOver: true });
  }

  /**
   * Where the leg starts from. A run going on after a pause or a hand-over: it is no longer paused,
   * and its counts and API calls so far carry on. A run taken over: the counts its dead worker saved
   * now and then are not the whole story, so they start again, and every device the run already wrote
   * counts by what its record says (./link-outcomes.ts); its API calls carry on. Null when the run is
   * no longer running (nothing to go on with).
   */
  async start(runId: number, o: RunMode, takenOver = false): Promise<LegStart | null> {
    const journal = this.o.outcomes?.journal(runId);
    if (!o.resumed && !takenOver) return { counts: ZERO_COUNTS, apiCalls: 0, journal };
    const run = await this.o.runs.get(runId);
    if (run?.status !== "running") return null;
    await this.o.runs.update(runId, { pausedUntil: null });
    if (!takenOver) return { counts: run.counts, apiCalls: run.apiCalls, journal };
    const carried = await this.o.outcomes?.of(runId);
    return { counts: ZERO_COUNTS, apiCalls: run.apiCalls, journal, carried };
  }

  /**
   * The run reached its share of the hour: it stays the partner's running run, says when it goes on
   * (in the partner's time zone), and its job is due then. Ticket sync keeps the rest of the budget.
   */
  async pause(
    job: RunJob,
    timeZone: string,
    figures: string,
    retryAfterMs: number | undefined,
    counts: RunCounts,
    apiCalls: number,
  ): Promise<void> {
    const until = resumeAt(this.o.clock.now(), retryAfterMs, this.o.budgetWaitMs);
    await this.o.runs.line(job.runId, pausedLine(until, timeZone, figures), "warn");
    await this.o.runs.update(job.runId, { counts, apiCalls, plan: null, pausedUntil: until.toISOString() });
    await this.enqueue({ ...job, resumed: true }, until);
  }

  /** The worker shuts down: the run stopped at a safe point; its job is queued again once this leg ends. */
  async handOver(runId: number, counts: RunCounts, apiCalls: number): Promise<void> {
    await this.o.runs.line(
      runId,
      "Handed over: this worker is shutting down; another worker goes on from here.",
      "warn",
    );
    await this.o.runs.update(runId, { counts, apiCalls, plan: null });
    this.#handedOver.add(runId);
  }
}
