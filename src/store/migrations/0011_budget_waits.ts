import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * A spent hourly API budget is a wait, not an error. Before this, a ticket that met it was parked
 * as final (code BUDGET_EXHAUSTED) and stayed parked after the hour had reset. This releases such
 * tickets: their lanes are free again at the next worker beat, and the wait counts no attempt.
 * Append-only.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await releaseBudgetParked(db);
}

/** Un-parks open errors left by a spent budget; idempotent. */
export async function releaseBudgetParked(db: Kysely<unknown>): Promise<number> {
  // biome-ignore lint/suspicious/noExplicitAny: migrations work on the tables as they are at this point
  const k = db as Kysely<any>;
  const res = await k
    .updateTable("sync_errors")
    .set({ parked: 0, attempts: 0, next_attempt_at: null })
    .where("code", "=", "BUDGET_EXHAUSTED")
    .where("resolved_at", "is", null)
    .where("parked", "=", 1)
    .executeTakeFirst();
  return Number(res.numUpdatedRows ?? 0);
}
