/**
 * The process's Prometheus metrics (served at GET /metrics, docs/operations.md, Metrics). Each
 * composition root makes one `Metrics` with its own registry rather than prom-client's global one, so
 * tests can build several apps in one process without their counts mixing or names clashing.
 *
 * Some values are counted as things happen (PSA requests, webhook deliveries, finished runs and jobs);
 * others are read when Prometheus scrapes (job counts, ticket sync lag, runs by status) from callbacks
 * the composition root sets: a process that has nothing to report for one leaves it unset and that
 * metric stays empty.
 *
 * Every label value comes from a small set (a partner id, an entity name, a status), never from a URL
 * or free text: each distinct value is a new time series in Prometheus.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type JobState = "queued" | "running" | "failed";
export type JobCount = { task: string; state: JobState; count: number };
export type WebhookOutcome = "accepted" | "duplicate" | "refused";
export type SyncLag = { partner: string; seconds: number };
export type RunCount = { kind: string; status: string; count: number };

/** What a PSA client reports of its requests; the clients see only this, not the registry. */
export interface PsaRequestMetrics {
  /** One HTTP answer (any status) from the PSA; `endpoint` is the entity or path family, never a URL. */
  request(partner: string, endpoint: string, status: number): void;
  /** The share of the hourly request budget used, as last known (0.42 = 42 %). */
  budget(partner: string, share: number): void;
}

const PREFIX = "nocbridge_";

/**
 * Job and run durations reach from sub-second ticket pushes to asset syncs of many minutes.
 */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export class Metrics implements PsaRequestMetrics {
  readonly registry = new Registry();
  #jobCounts: (() => Promise<JobCount[]>) | undefined;
  #syncLag: (() => Promise<SyncLag[]>) | undefined;
  #runCounts: (() => Promise<RunCount[]>) | undefined;

  readonly #jobDuration: Histogram<"task" | "outcome">;
  readonly #psaRequests: Counter<"partner" | "endpoint" | "status">;
  readonly #psaThrottled: Counter<"partner" | "endpoint">;
  readonly #psaBudget: Gauge<"partner">;
  readonly #webhooks: Counter<"system" | "outcome">;
  readonly #runsFinished: Counter<"kind" | "status">;
  readonly #readFailures: Counter<"metric">;

  constructor(o: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (o.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    const self = this;
    new Gauge({
      name: `${PREFIX}jobs`,
      help: "Background jobs by task and state (queued, running, failed), read at scrape time",
      labelNames: ["task", "state"] as const,
      registers,
      async collect() {
        this.reset();
        for (const j of await self.#read("jobs", self.#jobCounts))
          this.set({ task: j.task, state: j.state }, j.count);
      },
    });
    this.#jobDuration = new Histogram({
      name: `${PREFIX}job_duration_seconds`,
      help: "Time a background job took, by task and outcome (ok, failed)",
      labelNames: ["task", "outcome"] as const,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#psaRequests = new Counter({
      name: `${PREFIX}psa_requests_total`,
      help: "HTTP answers from a PSA, by partner, endpoint (entity or path family) and status",
      labelNames: ["partner", "endpoint", "status"] as const,
      registers,
    });
    this.#psaThrottled = new Counter({
      name: `${PREFIX}psa_throttled_total`,
      help: "HTTP 429 answers from a PSA (rate limited), by partner and endpoint",
      labelNames: ["partner", "endpoint"] as const,
      registers,
    });
    this.#psaBudget = new Gauge({
      name: `${PREFIX}psa_budget_used_ratio`,
      help: "Share of the PSA's hourly request budget used, as last read by this process (0 to 1)",
      labelNames: ["partner"] as const,
      registers,
    });
    new Gauge({
      name: `${PREFIX}ticket_sync_lag_seconds`,
      help: "Age of the oldest ticket change not yet processed (outbox or inbox), by partner",
      labelNames: ["partner"] as const,
      registers,
      async collect() {
        this.reset();
        for (const l of await self.#read("ticket_sync_lag_seconds", self.#syncLag))
          this.set({ partner: l.partner }, l.seconds);
      },
    });
    this.#webhooks = new Counter({
      name: `${PREFIX}webhook_deliveries_total`,
      help: "PSA webhook deliveries received, by system and outcome (accepted, duplicate, refused)",
      labelNames: ["system", "outcome"] as const,
      registers,
    });
    new Gauge({
      name: `${PREFIX}runs`,
      help: "Sync runs on record, by kind and status, read at scrape time",
      labelNames: ["kind", "status"] as const,
      registers,
      async collect() {
        this.reset();
        for (const r of await self.#read("runs", self.#runCounts))
          this.set({ kind: r.kind, status: r.status }, r.count);
      },
    });
    this.#readFailures = new Counter({
      name: `${PREFIX}metrics_read_failures_total`,
      // Metrics are read side by side: a failure shows in this scrape or, at the latest, the next.
      help: "Scrapes in which a metric read from the database or the job engine could not be read (left empty)",
      labelNames: ["metric"] as const,
      registers,
    });
    this.#runsFinished = new Counter({
      name: `${PREFIX}runs_finished_total`,
      help: "Sync runs this process finished, by kind and status",
      labelNames: ["kind", "status"] as const,
      registers,
    });
  }

  // ---------------------------------------------------------------- read at scrape time

  /** Where the job counts come from (the job engine); unset, `nocbridge_jobs` is empty. */
  setJobCounts(fn: (() => Promise<JobCount[]>) | undefined): void {
    this.#jobCounts = fn;
  }

  /** Where the ticket sync lag comes from (a database query). */
  setSyncLag(fn: (() => Promise<SyncLag[]>) | undefined): void {
    this.#syncLag = fn;
  }

  /** Where the runs by status come from (a database query). */
  setRunCounts(fn: (() => Promise<RunCount[]>) | undefined): void {
    this.#runCounts = fn;
  }

  // ---------------------------------------------------------------- counted as it happens

  /** A background job ended after `seconds`. */
  observeJob(task: string, outcome: "ok" | "failed", seconds: number): void {
    this.#jobDuration.observe({ task, outcome }, Math.max(0, seconds));
  }

  request(partner: string, endpoint: string, status: number): void {
    this.#psaRequests.inc({ partner, endpoint, status: String(status) });
    if (status === 429) this.#psaThrottled.inc({ partner, endpoint });
  }

  budget(partner: string, share: number): void {
    if (Number.isFinite(share)) this.#psaBudget.set({ partner }, Math.max(0, share));
  }

  webhookDelivery(system: string, outcome: WebhookOutcome): void {
    this.#webhooks.inc({ system, outcome });
  }

  runFinished(kind: string, status: string): void {
    this.#runsFinished.inc({ kind, status });
  }

  // ---------------------------------------------------------------- the scrape

  /**
   * A scrape-time reading, or none when it is unset or fails: one reading that cannot be had (the
   * database is down) must not cost the scrape every other metric, so it is left empty and counted.
   */
  async #read<T>(metric: string, fn: (() => Promise<T[]>) | undefined): Promise<T[]> {
    if (!fn) return [];
    try {
      return await fn();
    } catch {
      this.#readFailures.inc({ metric: `${PREFIX}${metric}` });
      return [];
    }
  }

  /** The Content-Type of `text()` (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format, the scrape-time ones read now. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * A bounded label for a request path: the query is dropped and every segment that is not a plain
 * name (an id, a number, anything with digits or symbols) becomes ":id" — "service/tickets/17/notes"
 * is "service/tickets/:id/notes".
 */
export function endpointLabel(path: string): string {
  const bare = path.split("?")[0] ?? "";
  const label = bare
    .split("/")
    .filter((s) => s !== "")
    .map((s) => (/^[A-Za-z][A-Za-z_-]{0,63}$/.test(s) ? s : ":id"))
    .join("/");
  return label === "" ? "/" : label;
}
