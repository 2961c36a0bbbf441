import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Effort on tickets: the time a NOC technician logs on a portal ticket. A deleted entry keeps its row
 * (deleted_at set) so the deletion can reach the PSA. Every change writes a ticket_outbox row of kind
 * "time-entry" in its own transaction (docs/reliability.md, Outbox and inbox). Append-only.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const table =
    dialect === "postgres"
      ? db.schema
          .createTable("time_entries")
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema
          .createTable("time_entries")
          .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
  await table
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("ticket_id", "integer", (c) => c.notNull().references("tickets.id").onDelete("cascade"))
    .addColumn("user_id", "integer", (c) => c.references("users.id").onDelete("set null"))
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("ended_at", "text", (c) => c.notNull())
    .addColumn("summary", "text", (c) => c.notNull())
    .addColumn("internal_note", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("billable", "integer", (c) => c.notNull().defaultTo(1))
    // null = the partner's default work type (billing code) from Setup.
    .addColumn("work_type_id", "integer")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("deleted_at", "text")
    .execute();
  await db.schema
    .createIndex("time_entries_ticket")
    .on("time_entries")
    .columns(["ticket_id", "id"])
    .execute();
  await db.schema
    .createIndex("time_entries_partner_started")
    .on("time_entries")
    .columns(["partner_id", "started_at"])
    .execute();
}
