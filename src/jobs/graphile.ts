import { EventEmitter } from "node:events";
import {
  Logger as GwLogger,
  makeWorkerUtils,
  type Runner,
  run,
  type Task,
  type WorkerEvents,
  type WorkerUtils,
} from "graphile-worker";
import pg from "pg";
import type { Logger } from "../lib/logger.js";
import {
  DEFAULT_MAX_ATTEMPTS,
  type JobCount,
  type JobOptions,
  type JobOutcome,
  type JobState,
  type Jobs,
  type TaskList,
} from "./types.js";

/**
 * The job contract on PostgreSQL, through graphile-worker: jobs are rows its functions add, workers in
 * any number of processes take them with SKIP LOCKED and hear of new ones by LISTEN/NOTIFY. What this
 * file adds is only the translation to our contract: keys (`job_key`), serial lanes (named queues),
 * run times, retries with backoff, and handing back the jobs of a worker that died
 * (`force_unlock_workers`, which the engine calls once that worker's heartbeat has stopped).
 * https://worker.graphile.org/docs/library/add-job
 */
export class GraphileJobs implements Jobs {
  readonly backend = "graphile" as const;
  readonly #ids = new Set<string>();
  /** One runner per `work` call: each its own pool of tasks and concurrency. */
  #runners: Runner[] = [];
  #stopping: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly utils: WorkerUtils,
    private readonly schema: string,
    private readonly logger: Logger,
    private readonly graceMs: number,
    private readonly pollIntervalMs: number,
  ) {}

  /** Connects, and brings the job engine's schema up to date. `schema`: where its tables live. */
  static async open(o: {
    url: string;
    schema: string;
    logger: Logger;
    /** In-flight jobs' time to finish on shutdown before they are handed back, ms. */
    graceMs?: number;
    /**
     * How often an idle worker looks for due jobs it was not told of, ms (default 2 s): a job that
     * falls due later, or one that was not free when it was announced.
     */
    pollIntervalMs?: number;
    maxPoolSize?: number;
  }): Promise<GraphileJobs> {
    if (!/^[a-z_][a-z0-9_]*$/.test(o.schema)) throw new Error(`invalid job schema name "${o.schema}"`);
    const pool = new pg.Pool({ connectionString: o.url, max: o.maxPoolSize ?? 10 });
    // A connection the server dropped must not end the process: the pool makes a new one on next use.
    pool.on("error", (err) => o.logger.warn({ err }, "job engine connection lost"));
    try {
      // Workers started together would each create the engine's schema: one at a time, the others wait.
      // One key for the whole database, not one per schema: the engine's migrations of two schemas at
      // the same time can fail too ('column "job_count" of relation "job_queues" does not exist', seen
      // with two test files starting side by side).
      const key = "nocbridge-jobs:migrate";
      const lock = await pool.connect();
      let utils: WorkerUtils;
      try {
        await lock.query("select pg_advisory_lock(hashtext($1))", [key]);
        utils = await makeWorkerUtils({ pgPool: pool, schema: o.schema, logger: quietLogger(o.logger) });
        await utils.migrate();
      } finally {
        await lock.query("select pg_advisory_unlock(hashtext($1))", [key]).catch(() => {});
        lock.release();
      }
      return new GraphileJobs(
        pool,
        utils,
        o.schema,
        o.logger,
        o.graceMs ?? 30_000,
        o.pollIntervalMs ?? 2_000,
      );
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
  }

  get working(): boolean {
    return this.#runners.length > 0;
  }

  async add(task: string, payload: Record<string, unknown>, o: JobOptions = {}): Promise<void> {
    await this.utils.addJob(task, payload, {
      ...(o.key !== undefined ? { jobKey: o.key, jobKeyMode: o.keyMode ?? "replace" } : {}),
      ...(o.queue !== undefined ? { queueName: o.queue } : {}),
      ...(o.runAt ? { runAt: o.runAt } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      maxAttempts: o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    });
  }

  async remove(key: string): Promise<void> {
    await this.pool.query(`select ${this.schema}.remove_job($1)`, [key]);
  }

  async work(
    tasks: TaskList,
    o: { concurrency: number; onOutcome?: (o: JobOutcome) => void },
  ): Promise<void> {
    const taskList: Record<string, Task> = {};
    for (const [name, handler] of Object.entries(tasks)) {
      taskList[name] = async (payload, helpers) => {
        const started = performance.now();
        const seconds = () => (performance.now() - started) / 1000;
        try {
          await handler((payload ?? {}) as Record<string, unknown>, {
            attempt: helpers.job.attempts,
            maxAttempts: helpers.job.max_attempts,
            workerId: helpers.job.locked_by ?? "unknown",
            signal: helpers.abortSignal ?? new AbortController().signal,
          });
          o.onOutcome?.({ task: name, ok: true, seconds: seconds() });
        } catch (error) {
          o.onOutcome?.({ task: name, ok: false, seconds: seconds(), error });
          throw error;
        }
      };
    }
    await this.#start(taskList, Math.max(1, o.concurrency));
  }

  /**
   * One runner for a pool. graphile-worker's notifications are database-wide: when any process installs
   * the engine's tables in another schema of the same database (another deployment, a test), every
   * runner hears of a "breaking migration" and stops, and sets the exit code. That migration is not
   * ours (our schema is current), so a runner that stops unasked is started again.
   */
  async #start(taskList: Record<string, Task>, concurrency: number): Promise<void> {
    // Our own emitter, listened to before the workers exist: they announce themselves while `run` starts.
    const events: WorkerEvents = new EventEmitter();
    events.on("worker:create", ({ worker }) => this.#ids.add(worker.workerId));
    events.on("worker:release", ({ worker }) => this.#ids.delete(worker.workerId));
    const runner = await run({
      events,
      pgPool: this.pool,
      schema: this.schema,
      concurrency,
      noHandleSignals: true,
      pollInterval: this.pollIntervalMs,
      taskList,
      logger: quietLogger(this.logger),
      preset: { worker: { gracefulShutdownAbortTimeout: this.graceMs } },
    });
    this.#runners.push(runner);
    void runner.promise
      .catch(() => {})
      .then(() => {
        const i = this.#runners.indexOf(runner);
        if (i < 0) return; // stopped by us
        this.#runners.splice(i, 1);
        if (process.exitCode === 57) process.exitCode = undefined;
        this.logger.warn("job engine runner stopped by another schema's migration notice; starting it again");
        return this.#start(taskList, concurrency);
      })
      .catch((err: unknown) => this.logger.error({ err }, "job engine runner could not be started again"));
  }

  workerIds(): string[] {
    return [...this.#ids];
  }

  async releaseWorkers(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.utils.forceUnlockWorkers(ids);
  }

  async counts(): Promise<JobCount[]> {
    const { rows } = await this.pool.query<{ task: string; state: JobState; count: string }>(
      `select task_identifier as task,
              case when locked_at is not null then 'running'
                   when attempts >= max_attempts then 'failed'
                   else 'queued' end as state,
              count(*) as count
         from ${this.schema}.jobs group by 1, 2`,
    );
    return rows.map((r) => ({ task: r.task, state: r.state, count: Number(r.count) }));
  }

  async ready(): Promise<boolean> {
    try {
      await this.pool.query(`select 1 from ${this.schema}.jobs limit 1`);
      return true;
    } catch {
      return false;
    }
  }

  stop(): Promise<void> {
    const runners = this.#runners.splice(0);
    if (runners.length === 0) return this.#stopping ?? Promise.resolve();
    this.#stopping = Promise.all(runners.map((r) => r.stop())).then(() => {
      this.#ids.clear();
    });
    return this.#stopping;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.utils.release();
    await this.pool.end();
  }
}

/** graphile-worker's own lines go to our logger: its routine chatter at debug, trouble as it is. */
function quietLogger(logger: Logger): GwLogger {
  return new GwLogger(() => (level, message, meta) => {
    if (level === "error") logger.error({ jobEngine: meta }, message);
    else if (level === "warning") logger.warn({ jobEngine: meta }, message);
    else logger.debug({ jobEngine: meta }, message);
  });
}
