import type { Selectable } from "kysely";
import type { Clock } from "../lib/clock.js";
import type { Db } from "../store/db.js";
import type { SyncRunRow } from "../store/schema.js";
import { RunFeed } from "./run-feed.js";

export type RunStatus = "running" | "succeeded" | "partial" | "failed" | "awaiting-approval";
export type RunTrigger = "onboarding" | "schedule" | "manual";

export interface RunCounts {
  created: number;
  updated: number;
  deactivated: number;
  unchanged: number;
  failed: number;
}

export const ZERO_COUNTS: RunCounts = { created: 0, updated: 0, deactivated: 0, unchanged: 0, failed: 0 };

/** planning: reading the PSA and matching devices; writing: carrying out the plan. */
export type RunPhase = "planning" | "writing";

/** Where a run is: devices done of the devices it considers, in its current phase. */
export interface RunProgress {
  phase: RunPhase | null;
  done: number;
  /** Devices to consider (portal devices plus CIs of devices gone); null until known. */
  total: number | null;
  /** When the phase began: done ÷ (now − this) is the rate, (total − done) ÷ rate the estimate. */
  phaseStartedAt: string | null;
}

export interface SyncRun {
  id: number;
  partnerId: number;
  kind: string;
  trigger: RunTrigger;
  dryRun: boolean;
  status: RunStatus;
  counts: RunCounts;
  apiCalls: number;
  error: string | null;
  approvedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  progress: RunProgress;
  /** Milliseconds spent waiting for approval (waits that ended; a wait going on began at `heldAt`). */
  waitedMs: number;
  /** Since when the run waits for approval, or null. */
  heldAt: string | null;
  /** How long the run took: finished − started − waited; null while it has not finished. */
  durationMs: number | null;
  /** A running run paused at the PSA's hourly API budget goes on at this time; null when not paused. */
  pausedUntil: string | null;
}

export interface SyncRunDetail extends SyncRun {
  log: string[];
  plan: unknown;
}

/** What a live watcher of a run receives (the Sync button's log, the CLI's progress bar). */
export type RunEvent =
  | { type: "line"; runId: number; id: number; text: string; at: string }
  | ({ type: "progress"; runId: number; counts: RunCounts } & RunProgress & { total: number })
  | { type: "status"; runId: number; status: RunStatus };

const ms = (iso: string) => new Date(iso).getTime();

const toRun = (r: Selectable<SyncRunRow>): SyncRun => ({
  id: r.id,
  partnerId: r.partner_id,
  kind: r.kind,
  trigger: r.trigger as RunTrigger,
  dryRun: r.dry_run === 1,
  status: r.status as RunStatus,
  counts: { ...ZERO_COUNTS, ...(JSON.parse(r.counts) as Partial<RunCounts>) },
  apiCalls: r.api_calls,
  error: r.error,
  approvedBy: r.approved_by,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  progress: {
    phase: r.progress_phase as RunPhase | null,
    done: r.progress_done,
    total: r.progress_total,
    phaseStartedAt: r.phase_started_at,
  },
  waitedMs: r.waited_ms,
  heldAt: r.held_at,
  pausedUntil: r.paused_until,
  durationMs:
    r.finished_at === null
      ? null
      : Math.max(
          0,
          ms(r.finished_at) -
            ms(r.started_at) -
            r.waited_ms -
            (r.held_at ? ms(r.finished_at) - ms(r.held_at) : 0),
        ),
});

/** What a run tracker saves: the phase, the devices done, the total, the counts so far. */
export interface RunTracker {
  /** A new phase begins over `total` devices (done back to 0). */
  phase(phase: RunPhase, total: number): void;
  /** The devices to consider, once known (before the first phase). */
  total(total: number): void;
  /** `done` devices of the phase so far, and the counts so far (planned counts in a dry run's planning). */
  step(done: number, counts: RunCounts): void;
  /** Resolves once everything pushed is written. */
  flush(): Promise<void>;
}

/**
 * Sync runs and their log lines. Lines, progress and status are written to the store as they happen
 * (so a run's log survives a restart), and live watchers read them from there (./run-feed.ts): the
 * store is the only source, so a run executing in another process is watched the same way.
 */
export class RunStore {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #feed: RunFeed;
  readonly #onFinished: ((kind: string, status: RunStatus) => void) | undefined;

  /** `onFinished`: told of every run that ends here, with its final status (the metrics count them). */
  constructor(db: Db, clock: Clock, onFinished?: (kind: string, status: RunStatus) => void) {
    this.#db = db;
    this.#clock = clock;
    this.#feed = new RunFeed(db);
    this.#onFinished = onFinished;
  }

  async create(partnerId: number, kind: string, trigger: RunTrigger, dryRun: boolean): Promise<SyncRun> {
    const row = await this.#db.kysely
      .insertInto("sync_runs")
      .values({
        partner_id: partnerId,
        kind,
        trigger,
        dry_run: dryRun ? 1 : 0,
        status: "running",
        counts: JSON.stringify(ZERO_COUNTS),
        api_calls: 0,
        started_at: this.#clock.now().toISOString(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRun(row);
  }

  async line(runId: number, text: string, level: "info" | "warn" | "error" = "info"): Promise<void> {
    const at = this.#clock.now().toISOString();
    await this.#db.kysely.insertInto("sync_run_lines").values({ run_id: runId, at, level, text }).execute();
  }

  async update(
    runId: number,
    patch: {
      status?: RunStatus;
      counts?: RunCounts;
      apiCalls?: number;
      plan?: unknown;
      error?: string | null;
      approvedBy?: string;
      finished?: boolean;
      /** true: the run starts waiting for approval now. */
      held?: boolean;
      /** When a run paused at the API budget goes on; null: it is not paused (any more). */
      pausedUntil?: string | null;
    },
  ): Promise<void> {
    const finished = await this.#db.kysely
      .updateTable("sync_runs")
      .set({
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.counts ? { counts: JSON.stringify(patch.counts) } : {}),
        ...(patch.apiCalls !== undefined ? { api_calls: patch.apiCalls } : {}),
        ...(patch.plan !== undefined
          ? { plan: patch.plan === null ? null : JSON.stringify(patch.plan) }
          : {}),
        ...(patch.error !== undefined ? { error: patch.error } : {}),
        ...(patch.approvedBy !== undefined ? { approved_by: patch.approvedBy } : {}),
        ...(patch.finished === true ? { finished_at: this.#clock.now().toISOString() } : {}),
        ...(patch.finished === false ? { finished_at: null } : {}),
        ...(patch.held ? { held_at: this.#clock.now().toISOString() } : {}),
        ...(patch.pausedUntil !== undefined ? { paused_until: patch.pausedUntil } : {}),
      })
      .where("id", "=", runId)
      .returning("kind")
      .executeTakeFirst();
    if (patch.finished === true) await this.#forgetWrites([runId]);
    if (finished && patch.status && patch.finished === true) this.#onFinished?.(finished.kind, patch.status);
  }

  /**
   * An ended run's record of its writes is of no more use (./link-outcomes.ts). Rows a failure here
   * leaves are never read again (only a running run is taken over); they go with the run.
   */
  async #forgetWrites(runIds: number[]): Promise<void> {
    if (runIds.length === 0) return;
    await this.#db.kysely
      .deleteFrom("link_run_outcomes")
      .where("run_id", "in", runIds)
      .execute()
      .catch(() => {});
  }

  /**
   * The wait for approval is over (approved or cancelled): its length joins `waited_ms`, which the
   * run's duration leaves out.
   */
  async release(runId: number): Promise<void> {
    const row = await this.#db.kysely
      .selectFrom("sync_runs")
      .select(["held_at", "waited_ms"])
      .where("id", "=", runId)
      .executeTakeFirst();
    if (!row?.held_at) return;
    const waited = Math.max(0, this.#clock.now().getTime() - ms(row.held_at));
    await this.#db.kysely
      .updateTable("sync_runs")
      .set({ held_at: null, waited_ms: row.waited_ms + waited })
      .where("id", "=", runId)
      .execute();
  }

  /**
   * Saves a run's progress and counts as it goes, so every reader (the history, GET of the run, a run
   * cut short by a crash or a lost database) and every live watcher sees where it is. Writes never overlap: while one is in flight the latest state waits for the next.
   * Failures are left to the final update (the run goes on whatever happens here).
   */
  tracker(runId: number, apiCalls?: () => number): RunTracker {
    const state: RunProgress & { counts: RunCounts } = {
      phase: null,
      done: 0,
      total: null,
      phaseStartedAt: null,
      counts: { ...ZERO_COUNTS },
    };
    let dirty = false;
    let writing: Promise<void> | null = null;
    const drain = async (): Promise<void> => {
      while (dirty) {
        dirty = false;
        const s = { ...state };
        await this.#db.kysely
          .updateTable("sync_runs")
          .set({
            counts: JSON.stringify(s.counts),
            progress_phase: s.phase,
            progress_done: s.done,
            progress_total: s.total,
            phase_started_at: s.phaseStartedAt,
            ...(apiCalls ? { api_calls: apiCalls() } : {}),
          })
          .where("id", "=", runId)
          .execute()
          .catch(() => {});
      }
    };
    const save = () => {
      dirty = true;
      writing ??= drain().finally(() => {
        writing = null;
      });
    };
    return {
      phase: (phase, total) => {
        Object.assign(state, { phase, total, done: 0, phaseStartedAt: this.#clock.now().toISOString() });
        save();
      },
      total: (total) => {
        state.total = total;
        save();
      },
      step: (done, counts) => {
        state.done = done;
        state.counts = { ...counts };
        save();
      },
      async flush() {
        while (writing) await writing;
      },
    };
  }

  async get(runId: number): Promise<SyncRunDetail | null> {
    const row = await this.#db.kysely
      .selectFrom("sync_runs")
      .selectAll()
      .where("id", "=", runId)
      .executeTakeFirst();
    if (!row) return null;
    const lines = await this.#db.kysely
      .selectFrom("sync_run_lines")
      .select("text")
      .where("run_id", "=", runId)
      .orderBy("id")
      .execute();
    return {
      ...toRun(row),
      log: lines.map((l) => l.text),
      plan: row.plan === null ? null : JSON.parse(row.plan),
    };
  }

  /** Log lines with their ids (to resume a live stream without gaps or repeats). */
  async lines(runId: number): Promise<Array<{ id: number; text: string; at: string; level: string }>> {
    return this.#db.kysely
      .selectFrom("sync_run_lines")
      .select(["id", "text", "at", "level"])
      .where("run_id", "=", runId)
      .orderBy("id")
      .execute();
  }

  async list(
    partnerId: number,
    kind: string,
    limit = 50,
    offset = 0,
  ): Promise<{ items: SyncRun[]; total: number }> {
    const base = this.#db.kysely
      .selectFrom("sync_runs")
      .where("partner_id", "=", partnerId)
      .where("kind", "=", kind);
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy("id", "desc").limit(limit).offset(offset).execute(),
      base.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toRun), total: Number(count.n) };
  }

  /** The run in progress (running or awaiting approval) for a partner, if any. */
  async active(partnerId: number, kind: string): Promise<SyncRun | null> {
    const row = await this.#db.kysely
      .selectFrom("sync_runs")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .where("kind", "=", kind)
      .where("dry_run", "=", 0)
      .where("status", "in", ["running", "awaiting-approval"])
      .orderBy("id", "desc")
      .executeTakeFirst();
    return row ? toRun(row) : null;
  }

  /** The last finished real run: the partner's Last Sync Date and Last Sync Status. */
  async lastFinished(partnerId: number, kind: string): Promise<SyncRun | null> {
    const row = await this.#db.kysely
      .selectFrom("sync_runs")
      .selectAll()
      .where("partner_id", "=", partnerId)
      .where("kind", "=", kind)
      .where("dry_run", "=", 0)
      .where("finished_at", "is not", null)
      .orderBy("id", "desc")
      .executeTakeFirst();
    return row ? toRun(row) : null;
  }

  /**
   * Runs left "running" by a process that died are marked failed at start. A run paused at the API
   * budget was not cut short (what it did is saved): it is left to go on (`paused`).
   */
  async failInterrupted(): Promise<number> {
    const r = await this.#db.kysely
      .updateTable("sync_runs")
      .set({
        status: "failed",
        error: "interrupted: the server stopped during the run",
        finished_at: this.#clock.now().toISOString(),
      })
      .where("status", "=", "running")
      .where("paused_until", "is", null)
      .returning(["id", "kind"])
      .execute();
    await this.#forgetWrites(r.map((row) => row.id));
    for (const row of r) this.#onFinished?.(row.kind, "failed");
    return r.length;
  }

  /** Runs paused at the API budget: when each goes on (a process starting again schedules them). */
  async paused(): Promise<
    Array<{ id: number; partnerId: number; dryRun: boolean; approved: boolean; pausedUntil: string }>
  > {
    const rows = await this.#db.kysely
      .selectFrom("sync_runs")
      .select(["id", "partner_id", "dry_run", "approved_by", "paused_until"])
      .where("status", "=", "running")
      .where("paused_until", "is not", null)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      partnerId: r.partner_id,
      dryRun: r.dry_run === 1,
      approved: r.approved_by !== null,
      pausedUntil: r.paused_until as string,
    }));
  }

  /**
   * Follows a run, wherever it executes: `fn` gets the run's log from its first line, then each new
   * line, its progress and its status as the store shows them (about every RUN_FEED_POLL_MS). Call the
   * returned function to stop.
   */
  subscribe(runId: number, fn: (e: RunEvent) => void): () => void {
    return this.#feed.subscribe(runId, fn);
  }

  /** Watchers are served again (after close()). */
  open(): void {
    this.#feed.open();
  }

  /** Stops reading the store for watchers (the engine stops; the store is about to close). */
  close(): Promise<void> {
    return this.#feed.close();
  }
}
