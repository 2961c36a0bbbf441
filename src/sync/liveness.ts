import { hostname } from "node:os";
import type { Clock } from "../lib/clock.js";
import type { Db } from "../store/db.js";

/** How often a worker process says it is alive, ms. */
export const BEAT_MS = 5_000;
/** A worker process (and the runs it owns) that has not beaten for this long is taken for dead, ms. */
export const STALE_MS = 30_000;

export interface DeadWorker {
  id: string;
  host: string;
  pid: number;
  jobWorkers: string[];
  beatAt: string;
}

/**
 * Which worker processes are alive, and which runs each owns. A worker process beats every few
 * seconds; the beat also refreshes the heartbeat of the runs it executes. A process that stopped
 * beating (killed, its machine gone) is found by the others: the job engine is told to hand its jobs
 * back, and a run it owned may be claimed by whichever worker takes the run's job next.
 */
export class Liveness {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** This process's id as a worker (unique per start). */
    readonly id: string,
  ) {}

  #now(): string {
    return this.clock.now().toISOString();
  }
  #staleBefore(): string {
    return new Date(this.clock.now().getTime() - STALE_MS).toISOString();
  }

  /** Announces this process (again) with the job engine's worker ids it runs. */
  async beat(jobWorkers: string[]): Promise<void> {
    const now = this.#now();
    const k = this.db.kysely;
    const workers = JSON.stringify(jobWorkers);
    await k
      .insertInto("worker_processes")
      .values({
        id: this.id,
        host: hostname(),
        pid: process.pid,
        job_workers: workers,
        started_at: now,
        beat_at: now,
      })
      .onConflict((oc) => oc.column("id").doUpdateSet({ beat_at: now, job_workers: workers }))
      .execute();
    await k
      .updateTable("sync_runs")
      .set({ heartbeat_at: now })
      .where("owner", "=", this.id)
      .where("status", "=", "running")
      .execute();
  }

  /**
   * Worker processes that stopped beating — and, at once, those of this machine whose process is
   * gone (a worker restarted after a crash need not wait for its predecessor's beat to go stale).
   */
  async dead(): Promise<DeadWorker[]> {
    const rows = await this.db.kysely
      .selectFrom("worker_processes")
      .selectAll()
      .where("id", "!=", this.id)
      .execute();
    const staleBefore = this.#staleBefore();
    const here = hostname();
    return rows
      .filter((r) => r.beat_at < staleBefore || (r.host === here && !processAlive(r.pid)))
      .map((r) => ({
        id: r.id,
        host: r.host,
        pid: r.pid,
        jobWorkers: JSON.parse(r.job_workers) as string[],
        beatAt: r.beat_at,
      }));
  }

  /** Forgets a dead worker process once its jobs are handed back. */
  async forget(id: string): Promise<void> {
    await this.db.kysely.deleteFrom("worker_processes").where("id", "=", id).execute();
  }

  /** This process stops: its row goes (its jobs were handed back by the job engine's shutdown). */
  async leave(): Promise<void> {
    await this.forget(this.id);
    await this.db.kysely
      .updateTable("sync_runs")
      .set({ owner: null })
      .where("owner", "=", this.id)
      .where("status", "=", "running")
      .execute();
  }

  /**
   * Makes this process the run's owner when no live process owns it: it has no owner, or its owner
   * stopped beating. Answers whom it took it from (null: nobody), or false when a live owner has it.
   */
  async claimRun(runId: number): Promise<{ from: string | null; beatAt: string | null } | false> {
    const k = this.db.kysely;
    const row = await k
      .selectFrom("sync_runs")
      .select(["owner", "heartbeat_at", "status"])
      .where("id", "=", runId)
      .executeTakeFirst();
    if (row?.status !== "running") return false;
    if (row.owner !== null && row.owner !== this.id && (await this.#alive(row.owner))) return false;
    // Compare-and-set on what was read: of two workers claiming at once, one wins.
    let q = k
      .updateTable("sync_runs")
      .set({ owner: this.id, heartbeat_at: this.#now() })
      .where("id", "=", runId);
    q = row.owner === null ? q.where("owner", "is", null) : q.where("owner", "=", row.owner);
    q =
      row.heartbeat_at === null
        ? q.where("heartbeat_at", "is", null)
        : q.where("heartbeat_at", "=", row.heartbeat_at);
    const r = await q.executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    return { from: row.owner !== this.id ? row.owner : null, beatAt: row.heartbeat_at };
  }

  /** Whether a worker process is alive: it beats, and (on this machine) its process is there. */
  async #alive(id: string): Promise<boolean> {
    const r = await this.db.kysely
      .selectFrom("worker_processes")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    if (!r || r.beat_at < this.#staleBefore()) return false;
    return r.host !== hostname() || processAlive(r.pid);
  }

  /** The run is no longer executing here (finished, or held for approval). */
  async releaseRun(runId: number): Promise<void> {
    await this.db.kysely
      .updateTable("sync_runs")
      .set({ owner: null })
      .where("id", "=", runId)
      .where("owner", "=", this.id)
      .execute();
  }
}

/** Whether a process of this machine is still there (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
