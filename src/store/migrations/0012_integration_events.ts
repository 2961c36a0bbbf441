import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Integration settings saves, for the sync engine to act on (reschedule the asset sync, run the
 * onboarding sync, set up the ticket webhooks). Written in the same transaction as the settings, so a
 * save is never lost between the commit and the engine hearing of it (docs/reliability.md, Outbox and
 * inbox). Append-only.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const table =
    dialect === "postgres"
      ? db.schema
          .createTable("integration_events")
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema
          .createTable("integration_events")
          .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
  await table
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    // 1 when this save switched device integration on for the first time (the onboarding sync).
    .addColumn("onboarding", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("processed_at", "text")
    .execute();
  await db.schema
    .createIndex("integration_events_pending")
    .on("integration_events")
    .columns(["processed_at", "partner_id", "id"])
    .execute();
}
