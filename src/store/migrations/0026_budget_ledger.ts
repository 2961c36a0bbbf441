import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * A partner's hourly PSA API usage, counted by every process that serves it (docs/scale-out.md, The
 * hourly API budget): the last reading the PSA gave (its count, threshold and window, and when it was
 * read) and the requests all processes sent since. A newer reading starts `sent_since` again from 0.
 */
export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable("budget_ledger")
    .addColumn("partner_id", "integer", (c) => c.primaryKey().references("partners.id").onDelete("cascade"))
    .addColumn("reported_count", "integer", (c) => c.notNull())
    .addColumn("threshold", "integer", (c) => c.notNull())
    .addColumn("timeframe_minutes", "integer", (c) => c.notNull())
    .addColumn("read_at", "text", (c) => c.notNull())
    .addColumn("sent_since", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}
