import type { Jobs } from "../jobs/types.js";
import type { Clock } from "../lib/clock.js";
import { fingerprint } from "../lib/fingerprint.js";
import type { Logger } from "../lib/logger.js";
import type { Actor } from "../portal/access.js";
import { notFound, PortalError } from "../portal/errors.js";
import { isUniqueViolation } from "../store/db.js";
import { addLeg, budgetOnly, isBudgetStop, RESUMED_LINE } from "./asset-pause.js";
import { type AssetPlan, AssetSync } from "./assets.js";
import type { LinkOutcomes } from "./link-outcomes.js";
import type { LinkStore } from "./links.js";
import type { Liveness } from "./liveness.js";
import { isDbOutage } from "./outage.js";
import { n, PLANNED, plannedCounts, summarise } from "./plan-counts.js";
import type { SyncPortal } from "./portal-port.js";
import { type RunJob, RunLegs, type RunMode } from "./run-legs.js";
import {
  type RunCounts,
  type RunStore,
  type RunTrigger,
  type SyncRun,
  type SyncRunDetail,
  ZERO_COUNTS,
} from "./runs.js";
import type { PsaSessions } from "./sessions.js";
import type { Validation } from "./validation.js";

/** How this leg of a run executes: shared mode's shutdown signal, and whether it took the run over. */
interface Leg {
  signal?: AbortSignal | undefined;
  takenOver?: boolean;
}

export interface AssetSyncStatus {
  lastSyncAt: string | null;
  lastSyncStatus: string | null;
  nextRunAt: string | null;
  schedule: string | null;
  running: number | null;
  /** The running run is paused at the hourly API budget and goes on at this time; null when it is not. */
  pausedUntil: string | null;
}

export interface AssetRunsDeps {
  runs: RunStore;
  links: LinkStore;
  portal: SyncPortal;
  sessions: PsaSessions;
  validation: Validation;
  logger: Logger;
  /** The partner's schedule and when it fires next. */
  schedule(partnerId: number): Promise<{ nextRunAt: string | null; schedule: string | null }>;
  /** Mass-change guard: hold a run that deactivates more than `share` of a company's linked CIs (and at least `minimum`). */
  guard?: { share: number; minimum: number } | undefined;
  /** Parallel CI writes within a client. */
  concurrency?: number | undefined;
  /** Background work: a run paused at the hourly API budget goes on as a job (RUN_TASK) at its time. */
  jobs: Jobs;
  clock: Clock;
  /** How long a paused run waits when the PSA client named no time (default BUDGET_WAIT_MS). */
  budgetWaitMs?: number | undefined;
  /**
   * Shared mode (several processes on PostgreSQL): a run is a job that any worker process executes,
   * owned while it runs and taken over when its owner dies. Without it runs execute in this process.
   */
  shared?: { jobs: Jobs; liveness: () => Liveness | undefined; outcomes: LinkOutcomes } | undefined;
}

/**
 * Asset sync runs (manual, scheduled, onboarding): start, execute, hold for approval, approve or
 * cancel. One real run per partner at a time: asking again returns the run in progress. Runs the
 * database went away under are closed and started again once it answers (`resume`). How a run goes
 * on over several legs (pauses, hand-overs, takeovers) is ./run-legs.ts.
 */
export class AssetRuns {
  readonly #inflight = new Map<number, Promise<void>>();
  readonly #legs: RunLegs;
  readonly #starting = new Map<number, Promise<SyncRun>>();
  /** Runs the database went away under: marked failed and started again once it answers. */
  readonly #unfinished = new Map<number, { partnerId: number; dryRun: boolean; message: string }>();
  /** Partners whose scheduled run could not start while the database was away. */
  readonly #missed = new Set<number>();

  constructor(private readonly o: AssetRunsDeps) {
    this.#legs = new RunLegs({
      runs: o.runs,
      logger: o.logger,
      jobs: o.jobs,
      clock: o.clock,
      budgetWaitMs: o.budgetWaitMs,
      liveness: o.shared?.liveness,
      outcomes: o.shared?.outcomes,
    });
  }

  // ---------------------------------------------------------------- API-facing (with access checks)

  async request(actor: Actor, partnerId: number, dryRun: boolean): Promise<SyncRun> {
    await this.o.portal.authorize(actor, partnerId, "integration:write");
    return this.start(partnerId, "manual", { dryRun, by: actor.name });
  }

  async get(actor: Actor, runId: number): Promise<SyncRunDetail> {
    const run = await this.o.runs.get(runId);
    if (!run || (actor.partnerId !== null && actor.partnerId !== run.partnerId)) throw notFound("sync run");
    return run;
  }

  async list(actor: Actor, partnerId: number, limit: number, offset: number) {
    await this.o.portal.authorize(actor, partnerId);
    return { ...(await this.o.runs.list(partnerId, "assets", limit, offset)), limit, offset };
  }

  async approve(actor: Actor, runId: number): Promise<SyncRun> {
    const run = await this.get(actor, runId);
    await this.o.portal.authorize(actor, run.partnerId, "integration:write");
    if (run.status !== "awaiting-approval")
      throw new PortalError("CONFLICT", 409, `run ${runId} is ${run.status}, not awaiting approval`);
    await this.o.runs.release(runId);
    await this.o.runs.update(runId, { status: "running", approvedBy: actor.name, finished: false });
    await this.o.runs.line(runId, `Approved by ${actor.name}; continuing.`);
    await this.#launch(run.partnerId, runId, { dryRun: false, approved: true });
    return (await this.o.runs.get(runId)) as SyncRun;
  }

  async cancel(actor: Actor, runId: number): Promise<SyncRun> {
    const run = await this.get(actor, runId);
    await this.o.portal.authorize(actor, run.partnerId, "integration:write");
    if (run.status !== "awaiting-approval")
      throw new PortalError(
        "CONFLICT",
        409,
        `only a run awaiting approval can be cancelled; run ${runId} is ${run.status}`,
      );
    await this.o.runs.line(runId, `Cancelled by ${actor.name}; nothing was written.`);
    await this.o.runs.release(runId);
    await this.o.runs.update(runId, {
      status: "failed",
      error: `cancelled by ${actor.name}`,
      finished: true,
    });
    return (await this.o.runs.get(runId)) as SyncRun;
  }

  async status(actor: Actor, partnerId: number): Promise<AssetSyncStatus> {
    await this.o.portal.authorize(actor, partnerId);
    return this.assetStatus(partnerId);
  }

  async assetStatus(partnerId: number): Promise<AssetSyncStatus> {
    const [last, active, schedule] = await Promise.all([
      this.o.runs.lastFinished(partnerId, "assets"),
      this.o.runs.active(partnerId, "assets"),
      this.o.schedule(partnerId),
    ]);
    return {
      lastSyncAt: last?.finishedAt ?? null,
      lastSyncStatus: last?.status ?? null,
      ...schedule,
      running: active?.id ?? null,
      pausedUntil: active?.status === "running" ? active.pausedUntil : null,
    };
  }

  /**
   * Resolves when the run has stopped (finished or held for approval), through any pauses at the API
   * budget (tests, CLI). In-process, a running run neither executing here nor paused is left as it is.
   */
  async wait(runId: number): Promise<SyncRunDetail> {
    for (;;) {
      await this.#inflight.get(runId);
      const run = (await this.o.runs.get(runId)) as SyncRunDetail;
      if (run.status !== "running") return run;
      // Shared: executed by whichever worker took its job; the stored status says when it is done.
      if (!this.o.shared && run.pausedUntil === null && !this.#inflight.has(runId)) return run;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  // ---------------------------------------------------------------- runs

  /** Starts a run, or returns the real run already going for this partner. */
  async start(partnerId: number, trigger: RunTrigger, o: { dryRun: boolean; by?: string }): Promise<SyncRun> {
    const { runs } = this.o;
    if (!o.dryRun) {
      // Two requests at once must not both create a run: serialise the check-then-create per partner.
      const pending = this.#starting.get(partnerId);
      if (pending) return pending;
      const p = (async () => {
        const active = await runs.active(partnerId, "assets");
        if (active) return active;
        let run: SyncRun;
        try {
          run = await runs.create(partnerId, "assets", trigger, false);
        } catch (e) {
          // Another process started one between the check and the insert: that one is the run.
          const other = isUniqueViolation(e) ? await runs.active(partnerId, "assets") : null;
          if (other) return other;
          throw e;
        }
        await this.#launch(partnerId, run.id, { dryRun: false, approved: false });
        return run;
      })().finally(() => this.#starting.delete(partnerId));
      this.#starting.set(partnerId, p);
      return p;
    }
    const run = await runs.create(partnerId, "assets", trigger, true);
    await this.#launch(partnerId, run.id, { dryRun: true, approved: false });
    return run;
  }

  /** A schedule fired: start the run; while the database is away, run it once it is back. */
  async fireScheduled(partnerId: number): Promise<void> {
    await this.start(partnerId, "schedule", { dryRun: false }).catch((e: unknown) => {
      if (isDbOutage(e))
        this.#missed.add(partnerId); // runs when the database is back
      else this.o.logger.error({ err: e, partnerId }, "scheduled sync did not start");
    });
  }

  /** Whether an outage left runs to close or schedules to catch up (`resume`). */
  get interrupted(): boolean {
    return this.#unfinished.size > 0 || this.#missed.size > 0;
  }

  /** After an outage: runs it cut short are closed and started again, missed schedules run now. */
  async resume(): Promise<void> {
    for (const [runId, r] of this.#unfinished) {
      await this.o.runs.update(runId, { status: "failed", error: r.message, finished: true });
      this.#unfinished.delete(runId);
      if (!r.dryRun) this.#missed.add(r.partnerId);
    }
    for (const partnerId of this.#missed) {
      this.#missed.delete(partnerId);
      await this.start(partnerId, "schedule", { dryRun: false });
    }
  }

  /** Resolves when every run in progress has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inflight.values()]);
  }

  /** Executes the run: here, or (shared mode) as a job any worker process takes. */
  async #launch(partnerId: number, runId: number, o: RunMode): Promise<void> {
    if (this.o.shared) {
      await this.#legs.enqueue({ runId, partnerId, ...o });
      return;
    }
    this.#track(runId, this.#guarded(partnerId, runId, o));
  }

  /** In-process (after a restart): runs paused at the API budget go on at their time (./run-legs.ts). */
  schedulePaused(): Promise<void> {
    return this.#legs.schedulePaused();
  }

  /**
   * The run job's handler. In-process it is a paused run going on: it executes here, beside the job
   * (a leg may take hours, and the job lane must not wait for it). In shared mode the worker claims
   * the run first (./run-legs.ts); a run a live process owns is left.
   */
  async executeJob(job: RunJob, workerId: string, signal?: AbortSignal): Promise<void> {
    if (!this.o.shared) {
      if (!this.#inflight.has(job.runId))
        this.#track(job.runId, this.#guarded(job.partnerId, job.runId, job));
      return;
    }
    await this.#legs.claimed(job, workerId, (takenOver) => {
      const p = this.#guarded(job.partnerId, job.runId, job, { signal, takenOver });
      this.#track(job.runId, p);
      return p;
    });
  }

  #track(runId: number, p: Promise<void>): void {
    this.#inflight.set(
      runId,
      p.finally(() => this.#inflight.delete(runId)),
    );
  }

  #guarded(partnerId: number, runId: number, o: RunMode, leg: Leg = {}): Promise<void> {
    const { runs, logger } = this.o;
    return this.#execute(partnerId, runId, o, leg).catch(async (e: unknown) => {
      const message = isDbOutage(e) ? "the database became unavailable during the run" : (e as Error).message;
      logger.error({ err: e, runId }, "asset sync failed");
      await runs.line(runId, `Synchronization error: ${message}`, "error").catch(() => {});
      await runs
        .update(runId, { status: "failed", error: message, pausedUntil: null, finished: true })
        .catch(() => {
          // The database is away: close the run (and start it again) once it answers.
          this.#unfinished.set(runId, { partnerId, dryRun: o.dryRun, message });
        });
      if (isDbOutage(e) && !o.dryRun && !this.#unfinished.has(runId)) this.#missed.add(partnerId);
    });
  }

  async #execute(partnerId: number, runId: number, o: RunMode, leg: Leg): Promise<void> {
    const { portal, runs, links } = this.o;
    const { signal } = leg;
    const line = (text: string, level: "info" | "warn" | "error" = "info") => runs.line(runId, text, level);
    // A run going on after a pause, or taken over: where it starts from (null: it ended meanwhile).
    const prior = await this.#legs.start(runId, o, leg.takenOver);
    if (!prior) return;
    const psa = await this.o.sessions.forPartner(partnerId);
    const { session } = psa;
    const callsAtStart = session?.stats().requests ?? 0;
    const calls = () => prior.apiCalls + (session ? session.stats().requests - callsAtStart : 0);
    // The devices to consider are known at once (the links of devices gone join them after validation).
    const tracker = runs.tracker(runId, calls);
    const pause = (figures: string, retryAfterMs: number | undefined, counts: RunCounts) =>
      this.#legs.pause({ runId, partnerId, ...o }, psa.timeZone, figures, retryAfterMs, counts, calls());
    const clients = (await portal.clients(partnerId)).filter((c) => c.deviceCount > 0);
    tracker.total(clients.reduce((n, c) => n + c.deviceCount, 0));

    // A run going on checks again quietly: while the window is still full it only says when it tries next.
    if (!o.resumed)
      await line(
        o.dryRun
          ? "Validating configuration... (dry run: nothing will be written)"
          : "Validating configuration...",
      );
    const validation = await this.o.validation.check(partnerId, "assets", psa);
    if (!validation.ok || !session) {
      const failed = validation.checks.filter((c) => !c.ok);
      // The checklist stopped at the budget: nothing is wrong with the settings, the hour is used up.
      const figures = session ? budgetOnly(failed) : null;
      if (figures !== null) return pause(figures, undefined, prior.counts);
      for (const c of failed)
        await line(`Synchronization error: ${c.message}${c.fix ? ` ${c.fix}` : ""}`, "error");
      await tracker.flush();
      await runs.update(runId, {
        status: "failed",
        error: `configuration validation failed: ${failed.map((c) => c.name).join(", ")}`,
        apiCalls: calls(),
        finished: true,
      });
      return;
    }
    await line(
      o.handedOver
        ? "Continuing from the devices already synchronized (the previous worker handed the run over)."
        : o.resumed
          ? RESUMED_LINE
          : "Configuration validation success.",
    );
    const linked = await links.all(partnerId, "device");
    const withDevices = [];
    for (const client of clients) withDevices.push({ client, devices: await portal.devices(client.id) });
    const existing = await portal.existingDeviceIds(partnerId, [...linked.keys()]);
    const orphans = [...linked.values()].filter((l) => !existing.has(l.portalId));
    const total = withDevices.reduce((n, c) => n + c.devices.length, 0) + orphans.length;

    // Planning: devices matched so far (a dry run's counts are what it plans, as it plans them).
    tracker.phase("planning", total);
    const planned = { ...ZERO_COUNTS };
    let matched = 0;
    const sync = new AssetSync({
      assets: session.assets,
      label: session.label,
      links: linked,
      concurrency: this.o.concurrency ?? 3,
      journal: prior.journal,
      carried: prior.carried,
      saveLink: (deviceId, ciId, desired) =>
        links.upsert(partnerId, "device", deviceId, ciId, fingerprint(desired), desired),
      log: (text, level) => line(text, level),
      planned: (items) => {
        for (const i of items) planned[PLANNED[i.action]]++;
        matched += items.length;
        tracker.step(matched, o.dryRun ? planned : prior.counts);
      },
      progress: (done, counts) => tracker.step(done, addLeg(prior.counts, counts)),
    });
    let plan: AssetPlan;
    try {
      plan = await sync.plan(withDevices, orphans).finally(() => tracker.flush());
    } catch (e) {
      // Reading the CIs used up the share: the plan is made again, from the start, when the run goes on.
      if (isBudgetStop(e)) return pause(e.message, e.retryAfterMs, prior.counts);
      throw e;
    }

    if (o.dryRun) {
      const s = summarise(plan);
      await line(
        `Dry run: would create ${n(s.create)}, update ${n(s.update)}, deactivate ${n(s.deactivate)}; ${n(s.unchanged)} unchanged, ${n(s.conflict)} conflicts.`,
      );
      await line("Integration completed. (dry run: nothing was written)");
      await runs.update(runId, {
        status: "succeeded",
        plan,
        counts: plannedCounts(plan),
        apiCalls: calls(),
        finished: true,
      });
      return;
    }
    const guard = this.o.guard ?? { share: 0.2, minimum: 3 };
    const verdict = AssetSync.guard(plan, guard.share, guard.minimum);
    if (verdict.held && !o.approved) {
      for (const r of verdict.reasons) await line(`Mass-change guard: ${r}.`, "warn");
      await line("Nothing was written. Approve the run to carry out the plan, or cancel it.", "warn");
      await runs.update(runId, { status: "awaiting-approval", plan, apiCalls: calls(), held: true });
      return;
    }
    const handOver = (counts: RunCounts) => this.#legs.handOver(runId, counts, calls());
    if (signal?.aborted) return handOver(prior.counts);
    const stop = () => sync.stop();
    signal?.addEventListener("abort", stop, { once: true });
    tracker.phase("writing", total);
    const counts = addLeg(
      prior.counts,
      await sync
        .execute(plan)
        .finally(() => tracker.flush())
        .finally(() => signal?.removeEventListener("abort", stop)),
    );
    const halt = sync.halted;
    if (halt) return pause(halt.message, halt.retryAfterMs, counts);
    if (sync.stopped) return handOver(counts);
    await line("Integration completed.");
    await runs.update(runId, {
      status: counts.failed > 0 ? "partial" : "succeeded",
      counts,
      plan: null,
      apiCalls: calls(),
      finished: true,
    });
  }
}
