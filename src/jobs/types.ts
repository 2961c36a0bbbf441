/**
 * Background work as jobs: the one interface the engine uses, whatever runs the jobs. On PostgreSQL a
 * job engine in the database (./graphile.ts) lets any number of worker processes share the work; the
 * embedded SQLite mode runs the same contract inside its one process (./memory.ts).
 */

export interface JobOptions {
  /**
   * At most one waiting job per key: adding a job whose key is waiting replaces it (payload, queue,
   * and run time — or, with `keyMode: "preserve_run_at"`, everything but the run time). A job with the
   * key that is already running keeps running, and the new one waits behind it.
   */
  key?: string;
  keyMode?: "replace" | "preserve_run_at";
  /** A serial lane: jobs of one queue run one at a time, across every worker of every process. */
  queue?: string;
  /** Not before this time (default: now). */
  runAt?: Date;
  /** Attempts before the job is given up (default 5); a failed attempt is retried with backoff. */
  maxAttempts?: number;
  /** Lower runs first among due jobs (default 0). */
  priority?: number;
}

export interface JobContext {
  /** 1 on the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** The worker running the job (owner of what it writes). */
  workerId: string;
  /** Aborted when the worker shuts down and the grace period is over: stop at the next safe point. */
  signal: AbortSignal;
}

export type JobHandler = (payload: Record<string, unknown>, ctx: JobContext) => Promise<void>;
export type TaskList = Record<string, JobHandler>;

export type JobState = "queued" | "running" | "failed";
export interface JobCount {
  task: string;
  state: JobState;
  count: number;
}

/** What a job run ended with (metrics, logs). */
export interface JobOutcome {
  task: string;
  ok: boolean;
  seconds: number;
  error?: unknown;
}

export interface Jobs {
  readonly backend: "memory" | "graphile";
  add(task: string, payload: Record<string, unknown>, o?: JobOptions): Promise<void>;
  /** Removes the waiting job with this key (a running one finishes). */
  remove(key: string): Promise<void>;
  /** This process becomes a worker: it takes jobs of these tasks, `concurrency` at a time. */
  work(tasks: TaskList, o: { concurrency: number; onOutcome?: (o: JobOutcome) => void }): Promise<void>;
  /** Whether this process works jobs. */
  readonly working: boolean;
  /** Ids of this process's workers (their heartbeats say they are alive). */
  workerIds(): string[];
  /** Hands back the jobs that dead workers (ids) held, so another worker takes them at once. */
  releaseWorkers(ids: string[]): Promise<void>;
  /** Jobs by task and state. */
  counts(): Promise<JobCount[]>;
  /** Whether the engine answers (readiness). */
  ready(): Promise<boolean>;
  /**
   * Stops taking jobs; jobs in flight have `graceMs` to finish, then their signal is aborted and they
   * are handed back (to be taken again by a worker). Adding jobs still works.
   */
  stop(graceMs?: number): Promise<void>;
  /** Stops and lets go of every resource. */
  close(): Promise<void>;
}

/** Backoff after a failed attempt, as the PostgreSQL engine computes it: e^min(attempt, 10) seconds. */
export function retryDelayMs(attempt: number): number {
  return Math.round(Math.exp(Math.min(attempt, 10)) * 1000);
}

export const DEFAULT_MAX_ATTEMPTS = 5;
