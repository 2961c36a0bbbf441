import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Reconciliation items a partner chose to ignore: one row per partner and item key (the key names
 * the kind and the records, e.g. "orphan-ci:ci:812"). Deleting the row (un-ignore) shows the item again.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const table =
    dialect === "postgres"
      ? db.schema
          .createTable("reconciliation_ignores")
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema
          .createTable("reconciliation_ignores")
          .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
  await table
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("item_key", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("summary", "text", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("reconciliation_ignores_key")
    .on("reconciliation_ignores")
    .columns(["partner_id", "item_key"])
    .unique()
    .execute();
}
