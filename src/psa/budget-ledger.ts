/**
 * Counting a tenant's hourly API usage across processes (docs/scale-out.md, The hourly API budget).
 * The PSA reports the tenant's count now and then (Autotask's ThresholdInformation); between two
 * readings each process adds the requests it sends to a ledger all processes serving the partner share,
 * so each one's budget gate sees the others' traffic too. The ledger is a port: the services build one on
 * the store and hand it to the partner's client; without one, a client counts in memory by itself.
 *
 * Increments are batched: a process adds its requests to the ledger, and reads the others' back, every
 * `BUDGET_BATCH.requests` of its own requests or `BUDGET_BATCH.ms`, whichever comes first (and on every
 * request when the gate asks, near a stop share). Between two syncs its own requests count locally.
 */

/** One reading of the tenant's usage, as the PSA reported it. */
export interface BudgetReading {
  /** Requests the PSA counted in the current window. */
  count: number;
  /** Requests the window allows. */
  threshold: number;
  /** The window's length, in minutes. */
  timeframeMinutes: number;
  /** When it was read (ms since the epoch). */
  at: number;
}

/** The shared view: the newest reading and the requests sent since it by every process counting. */
export interface BudgetUsage {
  reading: BudgetReading;
  sentSince: number;
}

/** Where the processes serving one partner count its usage together. Both operations are atomic. */
export interface BudgetLedger {
  /**
   * A reading was taken. When it is not older than the stored one it replaces it and the count of
   * requests since starts again from 0; else the stored view stays. Returns the view after.
   */
  recordReading(reading: BudgetReading): Promise<BudgetUsage>;
  /** `n` (≥ 0) more requests were sent; returns the view after, or null before any reading. */
  addSent(n: number): Promise<BudgetUsage | null>;
}

/** How often a process adds its requests to the ledger and reads the others' back (at the latest). */
export const BUDGET_BATCH = Object.freeze({ requests: 10, ms: 250 });

/** How long a client waits before asking a failing ledger again (meanwhile it counts by itself). */
export const LEDGER_RETRY_MS = 5_000;

/** A ledger in this process's memory: what a client without a shared one counts in. */
export function memoryBudgetLedger(): BudgetLedger {
  let usage: BudgetUsage | null = null;
  const copy = (u: BudgetUsage): BudgetUsage => ({ reading: { ...u.reading }, sentSince: u.sentSince });
  return {
    async recordReading(reading) {
      if (!usage || reading.at >= usage.reading.at) usage = { reading: { ...reading }, sentSince: 0 };
      return copy(usage);
    },
    async addSent(n) {
      if (!usage) return null;
      usage.sentSince += n;
      return copy(usage);
    },
  };
}

export interface BudgetCountOptions {
  now: () => number;
  batch?: { requests: number; ms: number };
  /**
   * Told when the ledger starts failing (once, until it answers again); the count goes on with what
   * this process knows meanwhile.
   */
  onError?: (err: unknown) => void;
}

/**
 * One client's side of a ledger: its own requests not yet added (`pending`), and the shared view as of
 * its last sync. The view it gives is the shared one plus `pending`.
 */
export class BudgetCount {
  private shared: BudgetUsage | null = null;
  private pending = 0;
  private syncedAt = Number.NEGATIVE_INFINITY;
  private syncing: Promise<void> | null = null;
  private failing = false;
  private readonly batch: { requests: number; ms: number };

  constructor(
    private readonly ledger: BudgetLedger,
    private readonly opts: BudgetCountOptions,
  ) {
    this.batch = opts.batch ?? BUDGET_BATCH;
  }

  /** One of our requests is going out (counted locally until the next sync). */
  noteSent(): void {
    this.pending++;
  }

  /** The view as this process knows it now, without asking the ledger; null before any reading. */
  view(): BudgetUsage | null {
    const s = this.shared;
    return s ? { reading: s.reading, sentSince: s.sentSince + this.pending } : null;
  }

  /**
   * The view, synced with the ledger first when a batch is due or `urgent(view)` says so (the gate
   * asks near a stop share); null before any reading.
   */
  async current(urgent?: (view: BudgetUsage) => boolean): Promise<BudgetUsage | null> {
    const v = this.view();
    const since = this.opts.now() - this.syncedAt;
    // A failing ledger is asked again after a while, not on every request.
    const due = this.failing
      ? since >= LEDGER_RETRY_MS
      : v === null || this.pending >= this.batch.requests || since >= this.batch.ms || (urgent?.(v) ?? false);
    if (due) await this.sync();
    return this.view();
  }

  /**
   * A reading was taken: it becomes the view (our requests noted until now are in its count), unless
   * another process recorded a newer one meanwhile.
   */
  async record(reading: BudgetReading): Promise<BudgetUsage> {
    this.pending = 0;
    let after: BudgetUsage;
    try {
      after = await this.ledger.recordReading(reading);
      this.failing = false;
    } catch (e) {
      this.failed(e);
      after = { reading, sentSince: 0 };
    }
    this.syncedAt = this.opts.now();
    const held = this.shared;
    if (!held || after.reading.at >= held.reading.at) this.shared = after;
    return this.view() as BudgetUsage;
  }

  private async sync(): Promise<void> {
    this.syncing ??= (async () => {
      const n = this.pending;
      this.pending = 0;
      try {
        const after = await this.ledger.addSent(n);
        this.failing = false;
        this.adopt(after, n);
      } catch (e) {
        this.pending += n;
        this.failed(e);
      } finally {
        this.syncedAt = this.opts.now();
        this.syncing = null;
      }
    })();
    await this.syncing;
  }

  private failed(err: unknown): void {
    if (!this.failing) this.opts.onError?.(err);
    this.failing = true;
  }

  /**
   * Takes the ledger's answer to adding `added` requests, unless it is older than the view held (a
   * reading recorded meanwhile, or a ledger that never got ours): then they count locally on top of the
   * view held.
   */
  private adopt(after: BudgetUsage | null, added: number): void {
    const held = this.shared;
    const older =
      after === null ||
      (held !== null &&
        (after.reading.at < held.reading.at ||
          (after.reading.at === held.reading.at && after.sentSince < held.sentSince)));
    if (!older) this.shared = after;
    else if (held) this.shared = { reading: held.reading, sentSince: held.sentSince + added };
  }
}
