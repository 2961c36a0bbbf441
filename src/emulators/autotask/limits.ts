/**
 * Autotask's request limits (docs/autotask.md, Thresholds and limits): the per-database hourly request
 * threshold with its usage-based latency, and the per-(integration, endpoint) thread limit. The gate
 * (gate.ts) asks `admit` once per request; everything here is synchronous so that check-and-count cannot
 * race.
 */
import type { Rejection, RequestInfo } from "./hooks.js";
import { type EmulatorClock, scaled, systemClock } from "./timing.js";

export interface LatencyTier {
  /** Usage share (0..1) of the threshold from which this tier applies. */
  atShare: number;
  /** Added latency per request, in nominal ms (multiplied by timeScale). */
  addMs: number;
}

export interface LimitsOptions {
  /**
   * Requests per rolling window per tenant. docs/autotask.md, Thresholds and limits: 10,000 per 60 minutes by
   * default.
   */
  requestThreshold: number;
  /** Rolling window length in ms (60 minutes); ThresholdInformation reports it in minutes. */
  windowMs: number;
  /**
   * Usage-based latency. docs/autotask.md, Thresholds and limits (bucket edges from third-party pages):
   * 50–74.99 % → +0.5 s, ≥ 75 % → +1 s. Sorted by atShare on configure; the highest tier reached applies.
   */
  latencyTiers: LatencyTier[];
  /** Send Retry-After (seconds until the window drops below the threshold) on a threshold 429. [U] */
  thresholdRetryAfter: boolean;
  /**
   * Concurrent requests per (tenant, integration code, endpoint). docs/autotask.md, Thresholds and limits: 3
   * since 2023.1.
   */
  maxThreads: number;
  /**
   * Status of the thread-limit rejection. docs/autotask.md, Thresholds and limits — unconfirmed: real status
   * unknown; 429 since clients retry it.
   */
  threadStatus: number;
  /** Retry-After seconds on a thread-limit rejection; null sends none (not documented). [U] */
  threadRetryAfterSeconds: number | null;
  /** Multiplies the added latency (tests use 0 or a small value). */
  timeScale: number;
}

export const DEFAULT_LIMITS: Readonly<LimitsOptions> = Object.freeze({
  requestThreshold: 10_000,
  windowMs: 60 * 60 * 1000,
  latencyTiers: [
    { atShare: 0.5, addMs: 500 },
    { atShare: 0.75, addMs: 1000 },
  ],
  thresholdRetryAfter: true,
  maxThreads: 3,
  threadStatus: 429,
  threadRetryAfterSeconds: null,
  timeScale: 1,
});

/** The result of `admit`: either a rejection, or a running request holding a thread slot. */
export interface LimitsDecision {
  reject?: Rejection;
  /** Usage-based latency to add before answering (already scaled), 0 when rejected. */
  latencyMs: number;
  /** Frees the thread slot; idempotent, a no-op for rejections. */
  release(): void;
}

export interface ThresholdInformation {
  externalRequestThreshold: number;
  requestThresholdTimeframe: number;
  currentTimeframeRequestCount: number;
}

export interface LimitsSnapshot {
  options: LimitsOptions;
  /** Requests counted in the current window, per tenant. */
  counts: Record<string, number>;
  /** Requests currently running, per `tenant|integrationCode|endpoint`. */
  threads: Record<string, number>;
}

export interface Limits {
  admit(req: RequestInfo): LimitsDecision;
  thresholdInformation(tenantId: string): ThresholdInformation;
  /** Changes any option at run time (the admin API); throws RangeError on an invalid value. */
  configure(partial: Partial<LimitsOptions>): LimitsOptions;
  snapshot(): LimitsSnapshot;
  /** Forgets all counts (admin reset); running requests keep their slots until released. */
  reset(): void;
}

/**
 * The production text of the thread-limit rejection (docs/autotask.md, Thresholds and limits), with the
 * configured count.
 */
export function threadLimitMessage(maxThreads: number): string {
  return `Thread Threshold Exceeded — The Autotask API thread threshold of ${maxThreads} threads has been exceeded.`;
}

/**
 * Our own wording: the real body text of the threshold rejection is not public (docs/autotask.md, Thresholds
 * and limits — unconfirmed).
 */
export function thresholdMessage(threshold: number, windowMinutes: number): string {
  return `Request rejected: the API request threshold of ${threshold} requests per ${windowMinutes} minutes has been exceeded for this database. Requests are refused until the rolling window drops below the threshold.`;
}

/** Requests counted in one time bucket of the rolling window. */
interface Bucket {
  start: number;
  count: number;
}

/**
 * A rolling window as a queue of time buckets (window / 3600, i.e. 1 s for the default hour), so
 * memory stays bounded whatever the request rate (benchmarks run hundreds of thousands of requests).
 */
class RollingCounter {
  private buckets: Bucket[] = [];
  private head = 0;
  private total = 0;

  count(now: number, windowMs: number): number {
    this.evict(now, windowMs);
    return this.total;
  }

  add(now: number, windowMs: number): void {
    const bucketMs = Math.max(1, Math.floor(windowMs / 3600));
    const start = Math.floor(now / bucketMs) * bucketMs;
    const last = this.buckets[this.buckets.length - 1];
    if (last && this.buckets.length > this.head && start <= last.start) last.count++;
    else this.buckets.push({ start, count: 1 });
    this.total++;
  }

  /** Ms until the count drops below `threshold` (0 if it already is). */
  msUntilBelow(now: number, windowMs: number, threshold: number): number {
    this.evict(now, windowMs);
    let remaining = this.total;
    for (let i = this.head; i < this.buckets.length && remaining >= threshold; i++) {
      const b = this.buckets[i] as Bucket;
      remaining -= b.count;
      if (remaining < threshold) return Math.max(0, b.start + windowMs - now);
    }
    return 0;
  }

  private evict(now: number, windowMs: number): void {
    // A request at time t counts while now - t < windowMs; a bucket leaves when its start does.
    while (this.head < this.buckets.length) {
      const b = this.buckets[this.head] as Bucket;
      if (now - b.start < windowMs) break;
      this.total -= b.count;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.buckets.length) {
      this.buckets = this.buckets.slice(this.head);
      this.head = 0;
    }
  }
}

function validate(o: LimitsOptions): void {
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${v}`);
  };
  positiveInt("requestThreshold", o.requestThreshold);
  positiveInt("windowMs", o.windowMs);
  positiveInt("maxThreads", o.maxThreads);
  if (!Number.isInteger(o.threadStatus) || o.threadStatus < 400 || o.threadStatus > 599)
    throw new RangeError(`threadStatus must be an HTTP error status (400–599), got ${o.threadStatus}`);
  if (
    o.threadRetryAfterSeconds !== null &&
    (!Number.isInteger(o.threadRetryAfterSeconds) || o.threadRetryAfterSeconds < 0)
  )
    throw new RangeError(`threadRetryAfterSeconds must be null or an integer ≥ 0`);
  if (!Number.isFinite(o.timeScale) || o.timeScale < 0) throw new RangeError(`timeScale must be ≥ 0`);
  if (!Array.isArray(o.latencyTiers)) throw new RangeError("latencyTiers must be an array");
  for (const t of o.latencyTiers) {
    if (!(t.atShare >= 0 && t.atShare <= 1)) throw new RangeError(`latency tier atShare must be 0..1`);
    if (!(t.addMs >= 0 && Number.isFinite(t.addMs))) throw new RangeError(`latency tier addMs must be ≥ 0`);
  }
}

function merge(base: LimitsOptions, partial: Partial<LimitsOptions>): LimitsOptions {
  const next: LimitsOptions = { ...base };
  for (const [k, v] of Object.entries(partial) as [keyof LimitsOptions, unknown][]) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_LIMITS)) throw new RangeError(`unknown limits option "${k}"`);
    (next as unknown as Record<string, unknown>)[k] = v;
  }
  next.latencyTiers = [...next.latencyTiers].map((t) => ({ ...t })).sort((a, b) => a.atShare - b.atShare);
  validate(next);
  return next;
}

/**
 * Creates the limits of one emulator (all tenants).
 *
 * Counting rule (docs/autotask.md, Thresholds and limits says over-threshold requests "are refused until the
 * rolling window drops below the limit"): only requests that pass both the threshold and the thread check are
 * counted. Refused requests are not, otherwise a client retrying a 429 would keep the window full forever.
 * Requests that an injected fault then fails are counted (they reached the server).
 */
export function createLimits(opts: Partial<LimitsOptions> = {}, clock: EmulatorClock = systemClock): Limits {
  let options = merge({ ...DEFAULT_LIMITS, latencyTiers: [...DEFAULT_LIMITS.latencyTiers] }, opts);
  const counters = new Map<string, RollingCounter>();
  const threads = new Map<string, number>();

  const counter = (tenantId: string): RollingCounter => {
    let c = counters.get(tenantId);
    if (!c) {
      c = new RollingCounter();
      counters.set(tenantId, c);
    }
    return c;
  };
  const noop = (): void => {};

  const latencyFor = (usedBefore: number): number => {
    const share = usedBefore / options.requestThreshold;
    let add = 0;
    for (const tier of options.latencyTiers) if (share >= tier.atShare) add = tier.addMs;
    return scaled(add, options.timeScale);
  };

  return {
    admit(req) {
      const now = clock.now().getTime();
      const c = counter(req.tenantId);
      const used = c.count(now, options.windowMs);
      if (used >= options.requestThreshold) {
        const headers: Record<string, string> = {};
        if (options.thresholdRetryAfter) {
          const ms = c.msUntilBelow(now, options.windowMs, options.requestThreshold);
          headers["Retry-After"] = String(Math.max(1, Math.ceil(ms / 1000)));
        }
        return {
          reject: {
            reason: "threshold",
            status: 429,
            body: { errors: [thresholdMessage(options.requestThreshold, options.windowMs / 60_000)] },
            headers,
          },
          latencyMs: 0,
          release: noop,
        };
      }

      // Thread limit: per API tracking identifier (integration code) and endpoint, as the
      // Autotask thread-limiting page says (docs/autotask.md, Thresholds and limits). Keyed by tenant too,
      // since each Autotask database enforces its own limit.
      const key = `${req.tenantId}|${req.integrationCode}|${req.entity}`;
      const running = threads.get(key) ?? 0;
      if (running >= options.maxThreads) {
        const headers: Record<string, string> = {};
        if (options.threadRetryAfterSeconds !== null)
          headers["Retry-After"] = String(options.threadRetryAfterSeconds);
        return {
          reject: {
            reason: "thread",
            status: options.threadStatus,
            body: { errors: [threadLimitMessage(options.maxThreads)] },
            headers,
          },
          latencyMs: 0,
          release: noop,
        };
      }
      threads.set(key, running + 1);
      c.add(now, options.windowMs);

      let released = false;
      return {
        // Latency reflects the usage the request found on arrival (before it was counted).
        latencyMs: latencyFor(used),
        release() {
          if (released) return;
          released = true;
          const n = (threads.get(key) ?? 1) - 1;
          if (n <= 0) threads.delete(key);
          else threads.set(key, n);
        },
      };
    },

    thresholdInformation(tenantId) {
      const now = clock.now().getTime();
      return {
        externalRequestThreshold: options.requestThreshold,
        requestThresholdTimeframe: Math.round(options.windowMs / 60_000),
        currentTimeframeRequestCount: counter(tenantId).count(now, options.windowMs),
      };
    },

    configure(partial) {
      options = merge(options, partial);
      return structuredClone(options);
    },

    snapshot() {
      const now = clock.now().getTime();
      const counts: Record<string, number> = {};
      for (const [tenant, c] of counters) counts[tenant] = c.count(now, options.windowMs);
      return { options: structuredClone(options), counts, threads: Object.fromEntries(threads) };
    },

    reset() {
      counters.clear();
    },
  };
}
