import type { Kysely } from "kysely";
import type { Dialect } from "../db.js";

/**
 * Time entries on portal tickets: who worked, from when to when (UTC), a summary, an internal note,
 * billable or not, the work type (null: the partner's default). A deleted entry keeps its row
 * (`deleted_at`) so that its deletion can cross to the PSA. Append-only.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const id = (t: string) =>
    dialect === "postgres"
      ? db.schema
          .createTable(t)
          .addColumn("id", "integer", (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : db.schema.createTable(t).addColumn("id", "integer", (c) => c.primaryKey().autoIncrement());
  await id("time_entries")
    .addColumn("partner_id", "integer", (c) => c.notNull().references("partners.id").onDelete("cascade"))
    .addColumn("ticket_id", "integer", (c) => c.notNull().references("tickets.id").onDelete("cascade"))
    .addColumn("user_id", "integer", (c) => c.notNull().references("users.id"))
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("ended_at", "text", (c) => c.notNull())
    .addColumn("summary", "text", (c) => c.notNull())
    .addColumn("internal_note", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("billable", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("work_type_id", "integer")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .addColumn("deleted_at", "text")
    .execute();
  await db.schema.createIndex("time_entries_ticket").on("time_entries").column("ticket_id").execute();
}
