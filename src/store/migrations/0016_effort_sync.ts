import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Time entries to the PSA: each portal time entry's PSA entry and how far it is synced
 * (`time_entry_links`), and the portal-user ↔ PSA-resource map per partner (`resource_map`).
 * Append-only.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const id = (t: string) =>
    dialect === "postgres"
      ? db.schema
          .createTable(t)
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema.createTable(t).addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
  // state: creating (sent, or about to be: look up before sending again), synced, deleted, corrected.
  // synced_at: the entry's updated_at that the PSA entry reflects.
  await id("time_entry_links")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("time_entry_id", "integer", (c) => c.notNull())
    .addColumn("psa_time_entry_id", "integer")
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("synced_at", "text")
    .addColumn("last_error", "text")
    .addUniqueConstraint("time_entry_links_entry", ["partner_id", "time_entry_id"])
    .execute();
  await id("resource_map")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("user_id", "integer", (c) => c.notNull())
    .addColumn("psa_resource_id", "integer", (c) => c.notNull())
    .addColumn("psa_role_id", "integer")
    .addColumn("psa_label", "text", (c) => c.notNull())
    .addUniqueConstraint("resource_map_user", ["partner_id", "user_id"])
    .execute();
}
