import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { Db } from "../store/db.js";
import { isDbOutage } from "./outage.js";

export interface PortalEventsOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  /**
   * Whether the engine runs in the background (the server): only then does the heartbeat consume rows
   * and a save set up webhooks. A caller's explicit `consume` (the settings route) applies the
   * schedule and the onboarding run either way.
   */
  background(): boolean;
  /** Re-creates the partner's asset schedule from its settings. */
  reschedule(partnerId: number): Promise<void>;
  /** Starts the partner's onboarding asset sync (or answers the run already going). */
  onboard(partnerId: number): Promise<unknown>;
  /** Registers or removes the partner's ticket webhooks, then the first push and a poll. */
  ticketingChanged(partnerId: number): Promise<void>;
  /** Told when consuming failed (the rows stay; the next beat tries again). */
  failed(err: unknown, what: string): void;
  /**
   * Shared mode: the webhook set-up becomes a job in the partner's ticket lane (a worker process
   * does it, one at a time per partner), queued by whichever process consumed the save.
   */
  enqueueSetup?: ((partnerId: number) => Promise<void>) | undefined;
}

/**
 * The engine's side of integration settings saves. The portal writes an integration_events row in
 * the same transaction as the settings; this consumes those rows — on every engine heartbeat, when
 * the portal's wake-up signal names the partner, and when a caller asks (the settings route, before
 * it answers). Per row: the asset schedule is re-created, the onboarding sync starts when the save
 * switched device integration on for the first time, and the ticket webhook set-up runs behind it.
 * A row is marked processed after it was acted on (at least once: every reaction is idempotent), and
 * one partner's rows are consumed one batch at a time.
 */
export class PortalEvents {
  readonly #o: PortalEventsOptions;
  readonly #consuming = new Map<number, Promise<void>>();
  readonly #setups = new Map<number, Promise<void>>();

  constructor(o: PortalEventsOptions) {
    this.#o = o;
  }

  /** The heartbeat: every partner's pending rows. Rejects when the store does not answer. */
  async consumeAll(): Promise<void> {
    if (!this.#o.background()) return;
    const rows = await this.#o.db.kysely
      .selectFrom("integration_events")
      .select("partner_id")
      .distinct()
      .where("processed_at", "is", null)
      .execute();
    for (const { partner_id: id } of rows) await this.consume(id);
  }

  /**
   * Consumes the partner's pending rows; resolves once its schedule is re-created and the onboarding
   * sync (if any) has started. Rejects when the store does not answer (the rows stay).
   */
  consume(partnerId: number): Promise<void> {
    const previous = this.#consuming.get(partnerId) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.#drain(partnerId));
    this.#consuming.set(partnerId, next);
    const settle = () => {
      if (this.#consuming.get(partnerId) === next) this.#consuming.delete(partnerId);
    };
    void next.then(settle, settle);
    return next;
  }

  /** As `consume`, for callers that must not fail: a failure is reported, and the next beat retries. */
  async settle(partnerId: number): Promise<void> {
    await this.consume(partnerId).catch((e: unknown) =>
      this.#o.failed(e, "integration settings change not yet applied"),
    );
  }

  /** Resolves when the partner's pending rows are consumed and the webhook set-up they started is done. */
  async ticketSetup(partnerId: number): Promise<void> {
    await this.settle(partnerId);
    await this.#setups.get(partnerId);
  }

  async #drain(partnerId: number): Promise<void> {
    const rows = await this.#o.db.kysely
      .selectFrom("integration_events")
      .select(["id", "onboarding"])
      .where("partner_id", "=", partnerId)
      .where("processed_at", "is", null)
      .orderBy("id")
      .execute();
    if (rows.length === 0) return;
    // Several saves since the last look need one schedule and one set-up: the settings are the latest.
    await this.#apply(
      partnerId,
      rows.some((r) => r.onboarding === 1),
    );
    await this.#o.db.kysely
      .updateTable("integration_events")
      .set({ processed_at: this.#o.clock.now().toISOString() })
      .where(
        "id",
        "in",
        rows.map((r) => r.id),
      )
      .execute();
  }

  async #apply(partnerId: number, onboarding: boolean): Promise<void> {
    // The settings are saved whatever happens here: a failure to schedule or start is logged. Only
    // the database being away leaves the rows for the next beat.
    try {
      await this.#o.reschedule(partnerId);
      if (onboarding) await this.#o.onboard(partnerId);
    } catch (e) {
      if (isDbOutage(e)) throw e;
      this.#o.logger.error({ err: e, partnerId }, "asset schedule or onboarding sync did not start");
    }
    if (this.#o.enqueueSetup) {
      await this.#o.enqueueSetup(partnerId);
      return;
    }
    // The webhook set-up is the server's work (a one-off command that asked for the save to be applied
    // does not register webhooks on the server's behalf).
    if (!this.#o.background()) return;
    // Not awaited: saving settings never waits on the PSA. `ticketSetup()` lets a caller wait.
    // One set-up at a time per partner: quick saves never register twice side by side.
    const previous = this.#setups.get(partnerId) ?? Promise.resolve();
    const setup = previous
      .then(() => this.#o.ticketingChanged(partnerId))
      .catch((e: unknown) =>
        this.#o.logger.error({ err: e, partnerId }, "ticket webhooks could not be set up"),
      )
      .finally(() => {
        if (this.#setups.get(partnerId) === setup) this.#setups.delete(partnerId);
      });
    this.#setups.set(partnerId, setup);
  }
}
