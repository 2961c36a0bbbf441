import type { JobOutcome } from "../jobs/types.js";
import { DEFAULT_CONCURRENCY, POLL_TASK, WorkerRole, type WorkerRoleOptions } from "./background.js";
import type { PortalEvents } from "./portal-events.js";
import { RUN_TASK, type RunJob } from "./run-legs.js";
import type { RunStore } from "./runs.js";
import { SCHEDULE_TASK } from "./scheduler.js";
import { LocalBeat, startPruning } from "./timers.js";

/** What the process role is given: a worker's parts (./background.ts), and the rest of its own. */
export interface ProcessRoleDeps
  extends Pick<
    WorkerRoleOptions,
    "db" | "clock" | "logger" | "jobs" | "portal" | "tickets" | "assetRuns" | "scheduler" | "outage"
  > {
  /** Integration settings saves (integration_events rows) and what follows them. */
  events: PortalEvents;
  /** Ticket poll interval per partner, ms (default 5 minutes). */
  pollIntervalMs?: number | undefined;
  /** Days processed inbox/outbox rows and resolved sync errors are kept (default 30). */
  retentionDays?: number | undefined;
  /** Told how each job run ended (metrics). */
  onJobOutcome?: ((o: JobOutcome) => void) | undefined;
  runs: RunStore;
}

/**
 * What this process does in the background, and its start and stop: it listens for the portal's
 * wake-ups and, with `background`, works — in shared mode (PostgreSQL) as one worker process among
 * many (./background.ts), in-process (SQLite) as the one process that owns the database, with its
 * own heartbeat of polls, retries and integration saves (./timers.ts).
 */
export class ProcessRole {
  #unlisten: (() => void) | undefined;
  /** In-process mode: the heartbeat of polls, retries and integration saves. */
  #beat: LocalBeat | undefined;
  #stopPruning: (() => void) | undefined;
  #background = false;
  /** Shared mode, a worker process: its jobs and beat. */
  #worker: WorkerRole | undefined;

  constructor(private readonly o: ProcessRoleDeps) {}

  /** Whether background work is shared with other processes (PostgreSQL's job engine). */
  get shared(): boolean {
    return this.o.jobs.backend === "graphile";
  }

  /** Whether this process does the background work. */
  get background(): boolean {
    return this.#background;
  }

  /** Shared mode, a worker process: its role (liveness, jobs); otherwise undefined. */
  get worker(): WorkerRole | undefined {
    return this.#worker;
  }

  /**
   * Listens for the portal's wake-ups (the rows are the news: outbox rows wake the ticket worker,
   * integration_events rows are consumed by PortalEvents). With `background` this process does the
   * background work: shared mode, a worker taking jobs (`concurrency` at a time) beside any number of
   * others; in-process mode (SQLite), the one process that marks runs a dead start left "running" as
   * failed, schedules every partner and beats: polls, retries, integration saves. Without it, shared
   * mode still turns wake-ups into jobs (an API process); in-process mode does nothing more.
   */
  async start(o: { background: boolean; concurrency?: number | undefined }): Promise<void> {
    const { jobs, tickets, events, assetRuns, scheduler } = this.o;
    this.#unlisten?.();
    this.#unlisten = this.o.db.signals.on((s) => {
      if (!this.#background && !this.shared) return;
      // Fire and forget: notify never rejects (its worker logs a failed drain); settle reports its own.
      if (s.kind === "outbox") void tickets.notify(s.partnerId);
      else void events.settle(s.partnerId);
    });
    // In-process, a run paused at the API budget goes on as a job of this process, whatever its role
    // (a one-off command follows its run to the end); so does a poll someone asked for ("Poll now": the
    // beat keeps the periodic polls, so this one queues no next).
    const localTasks = {
      [RUN_TASK]: (p: Record<string, unknown>) => assetRuns.executeJob(p as unknown as RunJob, ""),
      [POLL_TASK]: async (p: Record<string, unknown>) => {
        const partnerId = Number(p.partnerId);
        await tickets
          .pollTickets(partnerId)
          .catch((e: unknown) => this.o.logger.warn({ err: e, partnerId }, "ticket poll failed"));
      },
    };
    const outcome = this.o.onJobOutcome ? { onOutcome: this.o.onJobOutcome } : {};
    if (!o.background) {
      if (!this.shared) await jobs.work(localTasks, { concurrency: 1, ...outcome });
      return;
    }
    this.#background = true;
    if (this.shared) {
      this.#worker = new WorkerRole({
        db: this.o.db,
        clock: this.o.clock,
        logger: this.o.logger,
        jobs,
        portal: this.o.portal,
        tickets,
        assetRuns,
        scheduler,
        pollIntervalMs: this.o.pollIntervalMs ?? 5 * 60_000,
        consumeEvents: () => events.consumeAll(),
        outage: this.o.outage,
        onOutcome: this.o.onJobOutcome,
      });
      await this.#worker.start(o.concurrency ?? DEFAULT_CONCURRENCY);
      this.#startPruning();
      return;
    }
    await jobs.work(
      { [SCHEDULE_TASK]: (p) => scheduler.fired(Number(p.partnerId)), ...localTasks },
      { concurrency: 1, ...outcome },
    );
    await this.o.runs.failInterrupted();
    await assetRuns.schedulePaused();
    for (const partnerId of await this.o.portal.partnersWith("devices"))
      await scheduler.reschedule(partnerId);
    this.#beat = new LocalBeat({
      outage: this.o.outage,
      pollIntervalMs: this.o.pollIntervalMs,
      tick: async () => {
        await events.consumeAll();
        await tickets.tick();
      },
      succeeded: () => (assetRuns.interrupted ? assetRuns.resume() : undefined),
    });
    this.#beat.start();
    this.#startPruning();
  }

  #startPruning(): void {
    this.#stopPruning = startPruning({
      db: this.o.db,
      clock: this.o.clock,
      logger: this.o.logger,
      outage: this.o.outage,
      retentionDays: this.o.retentionDays ?? 30,
    });
  }

  /** Stops listening and working: in-flight jobs finish or are handed back (the job engine's stop). */
  async stop(): Promise<void> {
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#stopPruning?.();
    this.#stopPruning = undefined;
    await this.#beat?.stop();
    this.#beat = undefined;
    this.#background = false;
    await this.#worker?.stop();
    this.#worker = undefined;
    await this.o.jobs.stop();
  }
}
