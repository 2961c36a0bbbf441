import type { Kysely, SelectQueryBuilder, Transaction } from "kysely";
import type { Clock } from "../lib/clock.js";
import type { Db } from "../store/db.js";
import type { Database } from "../store/schema.js";
import type { SignalKind } from "../store/signals.js";
import type { Actor } from "./access.js";
import type { Page } from "./types.js";

/** The store, or a transaction on it. */
export type Q = Kysely<Database> | Transaction<Database>;

export interface PageQuery {
  limit?: number;
  offset?: number;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

/**
 * What every role module of the portal shares: the store, the clock, the audit log writer, paging, and
 * the wake-up it gives the sync engine after a commit that wrote rows for it.
 */
export class PortalContext {
  readonly db: Db;
  readonly #clock: Clock;

  constructor(db: Db, clock: Clock) {
    this.db = db;
    this.#clock = clock;
  }

  get k(): Kysely<Database> {
    return this.db.kysely;
  }

  now(): string {
    return this.#clock.now().toISOString();
  }

  /** One audit log row, in the caller's transaction. */
  async audit(
    q: Q,
    actor: Actor,
    partnerId: number | null,
    action: string,
    target: string,
    detail: object,
  ): Promise<void> {
    await q
      .insertInto("audit_log")
      .values({
        partner_id: partnerId,
        actor_user_id: actor.userId,
        actor_name: actor.name,
        action,
        target,
        detail: JSON.stringify(detail),
        created_at: this.now(),
      })
      .execute();
  }

  /** Runs a paged select and its count; `base` is the same query before select and order. */
  async page<TB extends keyof Database, R, T>(
    select: SelectQueryBuilder<Database, TB, R>,
    base: SelectQueryBuilder<Database, TB, object>,
    page: PageQuery,
    convert: (row: R) => T,
  ): Promise<Page<T>> {
    const limit = Math.min(Math.max(page.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
    const offset = Math.max(page.offset ?? 0, 0);
    const [rows, count] = await Promise.all([
      select.limit(limit).offset(offset).execute(),
      base.select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(convert), total: Number(count.n), limit, offset };
  }

  /**
   * After a commit that wrote rows for the sync engine (ticket_outbox, integration_events): wakes an
   * engine listening in this process. The rows are the message; this only saves it a wait.
   */
  wake(kind: SignalKind, partnerId: number): void {
    this.db.signals.fire({ kind, partnerId });
  }
}
