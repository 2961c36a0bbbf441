import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { JobOutcome, Jobs, TaskList } from "../jobs/types.js";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import { PortalError } from "../portal/errors.js";
import type { Db } from "../store/db.js";
import type { AssetRuns } from "./asset-runs.js";
import { BEAT_MS, Liveness } from "./liveness.js";
import type { OutageWatch } from "./outage.js";
import type { SyncPortal } from "./portal-port.js";
import { RUN_TASK, type RunJob } from "./run-legs.js";
import { type AssetScheduler, SCHEDULE_TASK } from "./scheduler.js";
import type { TicketEngine } from "./tickets/service.js";

export const DRAIN_TASK = "tickets.drain";
export const POLL_TASK = "tickets.poll";
export const SETUP_TASK = "tickets.setup";

/** A partner's ticket lane: its drains and polls run one at a time across all processes. */
export const ticketQueue = (partnerId: number) => `tickets:${partnerId}`;

/**
 * A partner's webhook set-ups, one at a time (two quick saves never register twice side by side). A
 * lane of its own: registering takes several PSA requests, and ticket changes do not wait for it (the
 * poll is the safety net for what a webhook not yet registered would have said).
 */
export const setupQueue = (partnerId: number) => `setup:${partnerId}`;

/**
 * Among due jobs, lower runs first: a ticket change goes ahead of polls and webhook set-ups, so a burst
 * of onboardings (each a set-up and a first poll) does not hold the slots ticket changes need.
 */
export const PRIORITY = Object.freeze({ drain: 0, poll: 5, setup: 5 });

/** Queues the partner's webhook set-up (ticketing switched on or off, or its settings changed). */
export function enqueueSetup(jobs: Jobs, partnerId: number): Promise<void> {
  return jobs.add(
    SETUP_TASK,
    { partnerId },
    { key: `setup:${partnerId}`, queue: setupQueue(partnerId), priority: PRIORITY.setup },
  );
}

/** How often a worker looks for outbox rows no wake-up announced (a process died before it queued the drain), ms. */
const SWEEP_MS = 30_000;

/** Queues the partner's drain now, or (a waiting retry) at `runAt`. */
export function enqueueDrain(jobs: Jobs, partnerId: number, runAt?: Date): Promise<void> {
  return jobs.add(
    DRAIN_TASK,
    { partnerId },
    runAt
      ? { key: `retry:${partnerId}`, queue: ticketQueue(partnerId), runAt, priority: PRIORITY.drain }
      : { key: `drain:${partnerId}`, queue: ticketQueue(partnerId), priority: PRIORITY.drain },
  );
}

/** Queues the partner's next poll after `delayMs` (`keepDue`: a poll already due keeps its time). */
export function enqueuePoll(jobs: Jobs, partnerId: number, delayMs: number, keepDue = false): Promise<void> {
  return jobs.add(
    POLL_TASK,
    { partnerId },
    {
      key: `poll:${partnerId}`,
      queue: ticketQueue(partnerId),
      runAt: new Date(Date.now() + delayMs),
      priority: PRIORITY.poll,
      ...(keepDue ? { keyMode: "preserve_run_at" as const } : {}),
    },
  );
}

/**
 * Ticket jobs a worker runs at once unless told (`--concurrency`); webhook set-ups are an eighth of
 * it and asset runs a quarter (`WorkerRole.tasks`).
 * Ticket jobs wait on the PSA most of their time (a drain is a few requests), so many fit in one
 * process: 20 ticket changes a second at a few hundred ms each hold about 10 slots, and a burst of
 * onboardings (a webhook set-up of many requests each) must leave room for them.
 */
export const DEFAULT_CONCURRENCY = 32;

export interface WorkerRoleOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  jobs: Jobs;
  portal: SyncPortal;
  tickets: TicketEngine;
  assetRuns: AssetRuns;
  scheduler: AssetScheduler;
  pollIntervalMs: number;
  /** Says once when the database went away (and when it is back), instead of a line per beat. */
  outage: OutageWatch;
  /** Integration saves not yet acted on (each beat). */
  consumeEvents(): Promise<void>;
  onOutcome?: ((o: JobOutcome) => void) | undefined;
}

/**
 * A worker process in shared mode (several processes on PostgreSQL): it takes jobs — ticket drains,
 * polls and webhook set-ups in each partner's serial lane, asset runs, schedules — and beats, so the
 * others know it is alive. Each beat it also looks for workers that stopped beating: the job engine
 * hands their jobs back (a run they owned is then taken over by the worker that takes its job).
 */
export class WorkerRole {
  readonly liveness: Liveness;
  #beat: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #lastSweep = 0;

  constructor(private readonly o: WorkerRoleOptions) {
    this.liveness = new Liveness(
      o.db,
      o.clock,
      `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`,
    );
  }

  /**
   * Three pools, so that neither long asset runs nor a burst of webhook set-ups hold the slots ticket
   * work needs: ticket drains, polls and schedules (`concurrency`); webhook set-ups (an eighth of it:
   * some 25 PSA requests each, and 200 partners onboarding at once are 5,000 requests the PSA and the
   * processes need not take all in the same minute); asset runs (a quarter).
   */
  tasks(): { tickets: TaskList; setups: TaskList; assets: TaskList } {
    const { tickets, assetRuns, scheduler, logger, jobs } = this.o;
    const partnerOf = (p: Record<string, unknown>) => Number(p.partnerId);
    return {
      tickets: {
        [DRAIN_TASK]: (p) => tickets.drainJob(partnerOf(p)),
        [POLL_TASK]: async (p) => {
          const partnerId = partnerOf(p);
          try {
            await tickets.pollTickets(partnerId);
          } catch (e) {
            logger.warn({ err: e, partnerId }, "ticket poll failed");
          }
          // The next poll, as long as the partner's ticketing is on (a poll that failed is tried again then).
          if (await this.#ticketingOn(partnerId)) await enqueuePoll(jobs, partnerId, this.o.pollIntervalMs);
        },
        [SCHEDULE_TASK]: (p) => scheduler.fired(partnerOf(p)),
      },
      setups: {
        [SETUP_TASK]: async (p) => {
          const partnerId = partnerOf(p);
          // The webhooks here; the first poll is a job of the ticket lane, due now.
          await tickets.ticketingChanged(partnerId, { firstPoll: false });
          if (await this.#ticketingOn(partnerId)) await enqueuePoll(jobs, partnerId, 0);
        },
      },
      assets: {
        [RUN_TASK]: (p, ctx) => assetRuns.executeJob(p as unknown as RunJob, ctx.workerId, ctx.signal),
      },
    };
  }

  /** Whether the partner (still) has ticketing on; a partner that is gone has not. */
  async #ticketingOn(partnerId: number): Promise<boolean> {
    try {
      return (await this.o.portal.integration(partnerId)).view.ticketing.enabled;
    } catch (e) {
      if (e instanceof PortalError && e.code === "NOT_FOUND") return false;
      throw e;
    }
  }

  /** Starts taking jobs and beating; every partner's recurring jobs are made sure of. */
  async start(concurrency: number): Promise<void> {
    const { jobs, portal } = this.o;
    const tasks = this.tasks();
    const outcome = this.o.onOutcome ? { onOutcome: this.o.onOutcome } : {};
    await jobs.work(tasks.tickets, { concurrency, ...outcome });
    await jobs.work(tasks.setups, { concurrency: Math.max(1, Math.ceil(concurrency / 8)), ...outcome });
    // Asset runs are long, and each is many requests of its own (several at once): a quarter, at least one.
    await jobs.work(tasks.assets, { concurrency: Math.max(1, Math.ceil(concurrency / 4)), ...outcome });
    for (const partnerId of await portal.partnersWith("devices"))
      await this.o.scheduler.reschedule(partnerId, { keepDue: true });
    for (const partnerId of await portal.partnersWith("ticketing"))
      await enqueuePoll(jobs, partnerId, 0, true);
    // The first beat at once: a predecessor that died is found and its jobs handed back, and outbox
    // rows it left are given a drain.
    await this.#tick();
    this.#beat = setInterval(() => {
      this.#beating ??= this.#tick()
        .then(
          () => void this.o.outage.succeeded(),
          (e: unknown) => void this.o.outage.failed(e, "worker beat failed"),
        )
        .finally(() => {
          this.#beating = undefined;
        });
    }, BEAT_MS);
    this.#beat.unref();
  }

  async #tick(): Promise<void> {
    const { jobs, logger } = this.o;
    await this.liveness.beat(jobs.workerIds());
    for (const dead of await this.liveness.dead()) {
      await jobs.releaseWorkers(dead.jobWorkers);
      await this.liveness.forget(dead.id);
      logger.warn(
        { worker: dead.id, host: dead.host, pid: dead.pid, lastBeat: dead.beatAt },
        "a worker process stopped beating; its jobs were handed back",
      );
    }
    await this.o.consumeEvents();
    if (Date.now() - this.#lastSweep >= SWEEP_MS) await this.#sweep();
  }

  /** Partners with outbox rows waiting get a drain (a process may have died before queuing one). */
  async #sweep(): Promise<void> {
    this.#lastSweep = Date.now();
    const rows = await this.o.db.kysely
      .selectFrom("ticket_outbox")
      .select("partner_id")
      .distinct()
      .where("processed_at", "is", null)
      .execute();
    for (const r of rows) await enqueueDrain(this.o.jobs, r.partner_id);
  }

  /** Stops taking jobs (in-flight ones finish or are handed back), then leaves. */
  async stop(): Promise<void> {
    // The beat goes on through the grace period: a worker finishing or handing over its jobs is alive,
    // and must not be taken for dead (and its run taken over) while it still writes.
    await this.o.jobs.stop();
    if (this.#beat) clearInterval(this.#beat);
    this.#beat = undefined;
    await this.#beating;
    await this.liveness
      .leave()
      .catch((e: unknown) => this.o.logger.warn({ err: e }, "worker could not sign off"));
  }
}
