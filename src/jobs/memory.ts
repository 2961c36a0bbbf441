import { randomBytes } from "node:crypto";
import {
  DEFAULT_MAX_ATTEMPTS,
  type JobCount,
  type JobOptions,
  type JobOutcome,
  type Jobs,
  retryDelayMs,
  type TaskList,
} from "./types.js";

interface Pool {
  tasks: TaskList;
  concurrency: number;
  running: number;
  onOutcome?: ((o: JobOutcome) => void) | undefined;
}

interface MemJob {
  id: number;
  task: string;
  payload: Record<string, unknown>;
  key: string | undefined;
  queue: string | undefined;
  runAt: number;
  priority: number;
  attempts: number;
  maxAttempts: number;
  state: "waiting" | "running" | "failed";
}

/**
 * The job contract inside one process, for the embedded SQLite mode (one process owns that database).
 * It keeps the PostgreSQL engine's rules — keys replace waiting jobs, a queue runs one job at a time,
 * run times, retries with the same backoff — so the engine behaves the same on both. Jobs live in
 * memory: what must survive a restart is in the store (outbox rows, runs), and a starting worker
 * schedules its recurring jobs again.
 */
export class MemoryJobs implements Jobs {
  readonly backend = "memory" as const;
  readonly #jobs = new Map<number, MemJob>();
  readonly #byKey = new Map<string, number>();
  readonly #busyQueues = new Set<string>();
  readonly #running = new Map<number, { done: Promise<void>; abort: AbortController }>();
  readonly #id = `memory-${randomBytes(4).toString("hex")}`;
  readonly #idleWaiters = new Set<() => void>();
  #next = 1;
  /** Each `work` call is a pool: its tasks, at most `concurrency` of them at once. */
  #pools: Pool[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #pumpQueued = false;

  get working(): boolean {
    return this.#pools.length > 0;
  }

  async add(task: string, payload: Record<string, unknown>, o: JobOptions = {}): Promise<void> {
    const runAt = o.runAt?.getTime() ?? Date.now();
    const existingId = o.key !== undefined ? this.#byKey.get(o.key) : undefined;
    const existing = existingId !== undefined ? this.#jobs.get(existingId) : undefined;
    if (existing && existing.state !== "running") {
      existing.task = task;
      existing.payload = payload;
      existing.queue = o.queue;
      existing.priority = o.priority ?? 0;
      existing.maxAttempts = o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      existing.attempts = 0;
      if (o.keyMode !== "preserve_run_at" || existing.state === "failed") existing.runAt = runAt;
      existing.state = "waiting";
    } else {
      const job: MemJob = {
        id: this.#next++,
        task,
        payload,
        key: o.key,
        queue: o.queue,
        runAt,
        priority: o.priority ?? 0,
        attempts: 0,
        maxAttempts: o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        state: "waiting",
      };
      // A running job keeps running; it lets go of its key, which now names the new job.
      if (existing) existing.key = undefined;
      this.#jobs.set(job.id, job);
      if (o.key !== undefined) this.#byKey.set(o.key, job.id);
    }
    this.#kick();
  }

  async remove(key: string): Promise<void> {
    const id = this.#byKey.get(key);
    const job = id !== undefined ? this.#jobs.get(id) : undefined;
    if (!job || job.state === "running") return;
    this.#jobs.delete(job.id);
    this.#byKey.delete(key);
    this.#settleIdle();
  }

  async work(
    tasks: TaskList,
    o: { concurrency: number; onOutcome?: (o: JobOutcome) => void },
  ): Promise<void> {
    this.#pools.push({ tasks, concurrency: Math.max(1, o.concurrency), running: 0, onOutcome: o.onOutcome });
    this.#kick();
  }

  workerIds(): string[] {
    return this.working ? [this.#id] : [];
  }

  async releaseWorkers(): Promise<void> {
    // One process: there is no other worker whose jobs could be held.
  }

  async counts(): Promise<JobCount[]> {
    const n = new Map<string, JobCount>();
    for (const j of this.#jobs.values()) {
      const state = j.state === "waiting" ? "queued" : j.state;
      const k = `${j.task}\u0000${state}`;
      const c = n.get(k) ?? { task: j.task, state, count: 0 };
      c.count++;
      n.set(k, c);
    }
    return [...n.values()];
  }

  async ready(): Promise<boolean> {
    return true;
  }

  /** Resolves once no job is running and none is due (tests and one-off commands wait for this). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  async stop(graceMs = 30_000): Promise<void> {
    this.#pools = [];
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const inFlight = [...this.#running.values()];
    if (inFlight.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      timer.unref();
    });
    await Promise.race([Promise.allSettled(inFlight.map((r) => r.done)), graceOver]);
    clearTimeout(timer);
    for (const r of this.#running.values()) r.abort.abort(new Error("the worker is shutting down"));
    await Promise.allSettled(inFlight.map((r) => r.done));
  }

  async close(): Promise<void> {
    await this.stop(0);
  }

  #kick(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    setImmediate(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    const now = Date.now();
    for (const pool of this.#pools) {
      while (pool.running < pool.concurrency) {
        let pick: MemJob | undefined;
        for (const j of this.#jobs.values()) {
          if (j.state !== "waiting" || j.runAt > now || !(j.task in pool.tasks)) continue;
          if (j.queue !== undefined && this.#busyQueues.has(j.queue)) continue;
          if (!pick || j.priority < pick.priority || (j.priority === pick.priority && j.runAt < pick.runAt))
            pick = j;
        }
        if (!pick) break;
        this.#start(pick, pool);
      }
    }
    if (this.#pools.length === 0) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const j of this.#jobs.values())
      if (j.state === "waiting" && j.runAt > now) earliest = Math.min(earliest, j.runAt);
    if (earliest < this.#timerAt) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timerAt = earliest;
      this.#timer = setTimeout(
        () => {
          this.#timer = undefined;
          this.#timerAt = Number.POSITIVE_INFINITY;
          this.#pump();
        },
        Math.max(0, earliest - now),
      );
      this.#timer.unref();
    }
    this.#settleIdle();
  }

  #start(job: MemJob, pool: Pool): void {
    const handler = pool.tasks[job.task] as TaskList[string];
    pool.running++;
    job.state = "running";
    job.attempts++;
    if (job.queue !== undefined) this.#busyQueues.add(job.queue);
    const abort = new AbortController();
    const started = Date.now();
    const done = (async () => {
      try {
        await handler(job.payload, {
          attempt: job.attempts,
          maxAttempts: job.maxAttempts,
          workerId: this.#id,
          signal: abort.signal,
        });
        this.#jobs.delete(job.id);
        if (job.key !== undefined && this.#byKey.get(job.key) === job.id) this.#byKey.delete(job.key);
        pool.onOutcome?.({ task: job.task, ok: true, seconds: (Date.now() - started) / 1000 });
      } catch (error) {
        if (job.attempts >= job.maxAttempts) job.state = "failed";
        else {
          job.state = "waiting";
          job.runAt = Date.now() + retryDelayMs(job.attempts);
        }
        pool.onOutcome?.({ task: job.task, ok: false, seconds: (Date.now() - started) / 1000, error });
      }
    })().finally(() => {
      if (job.queue !== undefined) this.#busyQueues.delete(job.queue);
      pool.running--;
      this.#running.delete(job.id);
      this.#kick();
    });
    this.#running.set(job.id, { done, abort });
  }

  #isIdle(): boolean {
    if (this.#running.size > 0) return false;
    const now = Date.now();
    for (const j of this.#jobs.values())
      if (j.state === "waiting" && j.runAt <= now && this.#pools.some((p) => j.task in p.tasks)) return false;
    return true;
  }

  #settleIdle(): void {
    if (this.#idleWaiters.size === 0 || !this.#isIdle()) return;
    for (const w of this.#idleWaiters) w();
    this.#idleWaiters.clear();
  }
}
