import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { Db } from "../store/db.js";
import type { OutageWatch } from "./outage.js";
import { pruneProcessed } from "./retention.js";

/** How often the in-process worker wakes up to poll partners that are due and retry waiting tickets, ms. */
const TICK_MS = 5_000;
/** How often processed sync rows older than the retention period are deleted, ms. */
const RETENTION_MS = 60 * 60_000;

/**
 * The in-process mode's heartbeat (SQLite: the one process owns the database): every few seconds the
 * integration saves not yet acted on, polls that are due and retries. The first beat runs at once, so a
 * restarted server sends the outbox rows a process that died between commit and send left behind. A
 * beat that fails because the database is away is logged once; the next beat simply tries again.
 */
export class LocalBeat {
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(
    private readonly o: {
      outage: OutageWatch;
      pollIntervalMs?: number | undefined;
      /** One beat's work. */
      tick(): Promise<void>;
      /** After a beat that succeeded (recovery after an outage). */
      succeeded(): Promise<void> | undefined;
    },
  ) {}

  start(): void {
    const beat = () => {
      this.#ticking ??= this.o
        .tick()
        .then(() => {
          this.o.outage.succeeded();
          return this.o.succeeded();
        })
        .catch((e: unknown) => {
          this.o.outage.failed(e, "ticket sync tick failed");
        })
        .finally(() => {
          this.#ticking = undefined;
        });
    };
    this.#timer = setInterval(beat, Math.min(TICK_MS, this.o.pollIntervalMs ?? TICK_MS));
    this.#timer.unref();
    beat();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }
}

/** Processed sync rows older than the retention period are deleted hourly (idempotent in every process). */
export function startPruning(o: {
  db: Db;
  clock: Clock;
  logger: Logger;
  outage: OutageWatch;
  retentionDays: number;
}): () => void {
  const prune = () => {
    pruneProcessed(o.db, o.clock, o.retentionDays)
      .then((n) => {
        if (n.inbox + n.outbox + n.errors + n.integrationEvents > 0)
          o.logger.info(n, "pruned processed sync rows");
      })
      .catch((e: unknown) => {
        o.outage.failed(e, "pruning processed sync rows failed");
      });
  };
  const timer = setInterval(prune, RETENTION_MS);
  timer.unref();
  prune();
  return () => clearInterval(timer);
}
