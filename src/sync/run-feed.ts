import type { Db } from "../store/db.js";
import type { RunCounts, RunEvent, RunPhase, RunStatus } from "./runs.js";

/** How often the feed reads the store for the watched runs' news while anyone watches, ms. */
export const RUN_FEED_POLL_MS = 400;
/** Log lines read at most per poll: a long log reaches a new watcher over a few quick polls. */
const LINE_BATCH = 500;
/** Counts a stored row may leave out (ZERO_COUNTS of ./runs.ts, which imports this module). */
const NO_COUNTS: RunCounts = { created: 0, updated: 0, deactivated: 0, unchanged: 0, failed: 0 };

interface Watcher {
  runId: number;
  fn: (e: RunEvent) => void;
  /** The last log line id this watcher was given. */
  after: number;
  /** The last status and progress it was given (null: none yet). */
  status: string | null;
  progress: string | null;
}

/**
 * Live news of sync runs for whoever watches them, read from the store, so a run executing in any
 * process (a worker, another API process) reaches watchers in every process the same way. One feed
 * per store reads, every RUN_FEED_POLL_MS while it has watchers, the watched runs' rows and their new
 * log lines in two queries, and gives each watcher its run's lines it has not seen (by line id: in
 * order, never twice), then its progress and status when they changed. A new watcher is first given
 * the run's log from its first line, so it needs no separate read of the log.
 */
export class RunFeed {
  readonly #db: Db;
  readonly #watchers = new Set<Watcher>();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  /** A watcher came while a poll was under way: poll again at once rather than after the pause. */
  #soon = false;
  #open = true;

  constructor(db: Db) {
    this.#db = db;
  }

  subscribe(runId: number, fn: (e: RunEvent) => void): () => void {
    const w: Watcher = { runId, fn, after: 0, status: null, progress: null };
    this.#watchers.add(w);
    this.#schedule(0);
    return () => {
      this.#watchers.delete(w);
      if (this.#watchers.size === 0) this.#clearTimer();
    };
  }

  /** Polling may go on (after close(); watchers kept across a stop are served again). */
  open(): void {
    this.#open = true;
    if (this.#watchers.size > 0) this.#schedule(0);
  }

  /** Stops polling and waits for a poll under way (the store is about to close). */
  async close(): Promise<void> {
    this.#open = false;
    this.#clearTimer();
    await this.#polling;
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs: number): void {
    if (!this.#open || this.#watchers.size === 0) return;
    if (this.#polling) {
      if (delayMs === 0) this.#soon = true;
      return;
    }
    if (this.#timer) {
      if (delayMs > 0) return;
      this.#clearTimer();
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      let more = false;
      this.#polling = this.#poll()
        .then((m) => {
          more = m;
        })
        // The database may be away for a moment: the next poll simply tries again.
        .catch(() => {})
        .finally(() => {
          this.#polling = undefined;
          const soon = this.#soon || more;
          this.#soon = false;
          this.#schedule(soon ? 0 : RUN_FEED_POLL_MS);
        });
    }, delayMs);
    // A forgotten watcher must not keep the process alive; whoever waits on the feed holds it up.
    this.#timer.unref();
  }

  /** One read of the watched runs; true when lines are left to read (a full batch came). */
  async #poll(): Promise<boolean> {
    const watchers = [...this.#watchers];
    if (watchers.length === 0) return false;
    const from = new Map<number, number>();
    for (const w of watchers) from.set(w.runId, Math.min(from.get(w.runId) ?? w.after, w.after));
    const runIds = [...from.keys()];
    const k = this.#db.kysely;
    // The rows before the lines: a run writes its last line before its final status, so a final status
    // read here has all its lines in the read that follows (a watcher never ends before its last line).
    const runs = await k
      .selectFrom("sync_runs")
      .select([
        "id",
        "status",
        "counts",
        "progress_phase",
        "progress_done",
        "progress_total",
        "phase_started_at",
      ])
      .where("id", "in", runIds)
      .execute();
    const lines = await k
      .selectFrom("sync_run_lines")
      .select(["id", "run_id", "text", "at"])
      .where((eb) =>
        eb.or(runIds.map((id) => eb.and([eb("run_id", "=", id), eb("id", ">", from.get(id) ?? 0)]))),
      )
      .orderBy("id")
      .limit(LINE_BATCH)
      .execute();
    const watching = (w: Watcher) => this.#watchers.has(w);
    for (const l of lines) {
      for (const w of watchers) {
        if (w.runId !== l.run_id || l.id <= w.after || !watching(w)) continue;
        w.after = l.id;
        give(w, { type: "line", runId: l.run_id, id: l.id, text: l.text, at: l.at });
      }
    }
    const more = lines.length === LINE_BATCH;
    // Lines left to read: the progress and status wait for them (a status must come after every line).
    if (more) return true;
    for (const r of runs) {
      const progress: RunEvent | null =
        r.progress_total === null
          ? null
          : {
              type: "progress",
              runId: r.id,
              counts: { ...NO_COUNTS, ...(JSON.parse(r.counts) as Partial<RunCounts>) },
              phase: r.progress_phase as RunPhase | null,
              done: r.progress_done,
              total: r.progress_total,
              phaseStartedAt: r.phase_started_at,
            };
      const progressKey = progress ? JSON.stringify(progress) : null;
      for (const w of watchers) {
        if (w.runId !== r.id) continue;
        if (progress && w.progress !== progressKey && watching(w)) {
          w.progress = progressKey;
          give(w, progress);
        }
        if (w.status !== r.status && watching(w)) {
          w.status = r.status;
          give(w, { type: "status", runId: r.id, status: r.status as RunStatus });
        }
      }
    }
    return false;
  }
}

/** A watcher that throws has only itself to blame: the others still get their news. */
function give(w: Watcher, e: RunEvent): void {
  try {
    w.fn(e);
  } catch {
    /* the watcher's own failure */
  }
}
