import type { Jobs } from "../jobs/types.js";
import { fingerprint } from "../lib/fingerprint.js";
import type { Logger } from "../lib/logger.js";
import type { Actor } from "../portal/access.js";
import { notFound, PortalError } from "../portal/errors.js";
import { isUniqueViolation } from "../store/db.js";
import { type AssetPlan, AssetSync, type PlanAction } from "./assets.js";
import type { LinkStore } from "./links.js";
import type { Liveness } from "./liveness.js";
import { isDbOutage } from "./outage.js";
import type { SyncPortal } from "./portal-port.js";
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

export interface AssetSyncStatus {
  lastSyncAt: string | null;
  lastSyncStatus: string | null;
  nextRunAt: string | null;
  schedule: string | null;
  running: number | null;
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
  /**
   * Shared mode (several processes on PostgreSQL): a run is a job that any worker process executes,
   * owned while it runs and taken over when its owner dies. Without it runs execute in this process.
   */
  shared?: { jobs: Jobs; liveness: () => Liveness | undefined } | undefined;
}

/** The job that executes an asset run. */
export const RUN_TASK = "assets.run";

export interface RunJob {
  runId: number;
  partnerId: number;
  dryRun: boolean;
  approved: boolean;
}

/**
 * Asset sync runs (manual, scheduled, onboarding): start, execute, hold for approval, approve or
 * cancel. One real run per partner at a time: asking again returns the run in progress. Runs the
 * database went away under are closed and started again once it answers (`resume`).
 */
export class AssetRuns {
  readonly #inflight = new Map<number, Promise<void>>();
  readonly #starting = new Map<number, Promise<SyncRun>>();
  /** Runs the database went away under: marked failed and started again once it answers. */
  readonly #unfinished = new Map<number, { partnerId: number; dryRun: boolean; message: string }>();
  /** Partners whose scheduled run could not start while the database was away. */
  readonly #missed = new Set<number>();

  constructor(private readonly o: AssetRunsDeps) {}

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
    };
  }

  /** Resolves when the run's current execution has finished (tests, CLI). */
  async wait(runId: number): Promise<SyncRunDetail> {
    await this.#inflight.get(runId);
    if (this.o.shared) {
      // Executed by whichever worker took its job: the stored status says when it is done.
      for (;;) {
        const run = (await this.o.runs.get(runId)) as SyncRunDetail;
        if (run.status !== "running") return run;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    return (await this.o.runs.get(runId)) as SyncRunDetail;
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
  async #launch(partnerId: number, runId: number, o: { dryRun: boolean; approved: boolean }): Promise<void> {
    if (this.o.shared) {
      const job: RunJob = { runId, partnerId, ...o };
      await this.o.shared.jobs.add(
        RUN_TASK,
        { ...job },
        { key: `run:${runId}`, queue: `assets:${partnerId}` },
      );
      return;
    }
    this.#track(runId, this.#guarded(partnerId, runId, o));
  }

  /**
   * The run job's handler (shared mode). The worker claims the run: one no live process owns (new,
   * or its owner stopped beating — then the run is taken over and goes on from what is saved: the
   * links of the devices done, so nothing done is written again). A run a live process owns is left.
   */
  async executeJob(job: RunJob, workerId: string): Promise<void> {
    const liveness = this.o.shared?.liveness();
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
    const p = this.#guarded(job.partnerId, job.runId, job);
    this.#track(job.runId, p);
    await p.finally(() => liveness.releaseRun(job.runId).catch(() => {}));
  }

  #track(runId: number, p: Promise<void>): void {
    this.#inflight.set(
      runId,
      p.finally(() => this.#inflight.delete(runId)),
    );
  }

  #guarded(partnerId: number, runId: number, o: { dryRun: boolean; approved: boolean }): Promise<void> {
    const { runs, logger } = this.o;
    return this.#execute(partnerId, runId, o).catch(async (e: unknown) => {
      const message = isDbOutage(e) ? "the database became unavailable during the run" : (e as Error).message;
      logger.error({ err: e, runId }, "asset sync failed");
      await runs.line(runId, `Synchronization error: ${message}`, "error").catch(() => {});
      await runs.update(runId, { status: "failed", error: message, finished: true }).catch(() => {
        // The database is away: close the run (and start it again) once it answers.
        this.#unfinished.set(runId, { partnerId, dryRun: o.dryRun, message });
      });
      if (isDbOutage(e) && !o.dryRun && !this.#unfinished.has(runId)) this.#missed.add(partnerId);
    });
  }

  async #execute(partnerId: number, runId: number, o: { dryRun: boolean; approved: boolean }): Promise<void> {
    const { portal, runs, links } = this.o;
    const line = (text: string, level: "info" | "warn" | "error" = "info") => runs.line(runId, text, level);
    const psa = await this.o.sessions.forPartner(partnerId);
    const { session } = psa;
    const callsAtStart = session?.stats().requests ?? 0;
    const calls = () => (session ? session.stats().requests - callsAtStart : 0);
    // The devices to consider are known at once (the links of devices gone join them after validation).
    const tracker = runs.tracker(runId, calls);
    const clients = (await portal.clients(partnerId)).filter((c) => c.deviceCount > 0);
    tracker.total(clients.reduce((n, c) => n + c.deviceCount, 0));

    await line(
      o.dryRun
        ? "Validating configuration... (dry run: nothing will be written)"
        : "Validating configuration...",
    );
    const validation = await this.o.validation.check(partnerId, "assets", psa);
    if (!validation.ok || !session) {
      const failed = validation.checks.filter((c) => !c.ok);
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
    await line("Configuration validation success.");
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
      saveLink: (deviceId, ciId, desired) =>
        links.upsert(partnerId, "device", deviceId, ciId, fingerprint(desired), desired),
      log: (text, level) => line(text, level),
      planned: (items) => {
        for (const i of items) planned[PLANNED[i.action]]++;
        matched += items.length;
        tracker.step(matched, o.dryRun ? planned : ZERO_COUNTS);
      },
      progress: (done, counts) => tracker.step(done, counts),
    });
    const plan = await sync.plan(withDevices, orphans).finally(() => tracker.flush());

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
    tracker.phase("writing", total);
    const counts = await sync.execute(plan).finally(() => tracker.flush());
    await line(sync.halted ? "Integration stopped before completion." : "Integration completed.");
    await runs.update(runId, {
      status: counts.failed > 0 || sync.halted ? "partial" : "succeeded",
      ...(sync.halted ? { error: sync.halted } : {}),
      counts,
      plan: null,
      apiCalls: calls(),
      finished: true,
    });
  }
}

/** 3050 → "3,050" in log lines. */
const n = (x: number) => x.toLocaleString("en-US");

/** Which count a planned action becomes: what a dry run's row shows (a conflict would fail). */
const PLANNED: Record<PlanAction, keyof RunCounts> = {
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

function summarise(plan: {
  clients: Array<{ items: Array<{ action: string }> }>;
  orphans: Array<{ action: string }>;
}) {
  const s = { create: 0, update: 0, deactivate: 0, unchanged: 0, conflict: 0 };
  for (const i of [...plan.clients.flatMap((c) => c.items), ...plan.orphans]) s[i.action as keyof typeof s]++;
  return s;
}
